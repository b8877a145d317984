import type { components } from './openapi'

// The API's shapes under the names the app uses: the types generated from
// server/httpapi/openapi.json (openapi.ts, npm run gen:api). Where the document leaves an object
// open ({"type": "object"}) or misses a field the server sends, a narrow type below spells what
// the app reads, with a comment naming the gap.

type Schemas = components['schemas']

// T with some of its fields replaced by narrower types; a replacement the document does not
// allow fails to compile here.
type Narrow<T, N extends { [K in keyof N]: K extends keyof T ? T[K] : never }> = Omit<T, keyof N> & N

export type ForecastRow = Schemas['ForecastRow']
export type Stance = Schemas['AnalyzeAnswer']['recommendation']
export type TrainAnswer = Schemas['TrainAnswer']
export type TaskStatus = Schemas['TaskRecord']['status']
export type DriftHealth = Schemas['DriftReport']['health']

// What /analyze and /predict-child answer (202) while the model trains first.
export type TrainingStarted = Schemas['TrainingStarted'] | Schemas['AnalyzeTraining']

export function isTraining(a: object | undefined): a is TrainingStarted {
  return a !== undefined && 'status' in a && a.status === 'training'
}

export type Horizon = '1' | '5' | '21' | '63'
export type ByHorizon = Partial<Record<Horizon, number | null>>

export type Evaluation = Schemas['HeldOutEvaluation']
export type Prediction = Schemas['Prediction']
// /analyze's forecast: the views beside the history, the old service's shape.
export type AnalysisForecast = Schemas['AnalysisForecast']

export type Headline = { title: string, publisher?: string, url?: string, published?: string }

export type Analysis = Narrow<Schemas['AnalyzeAnswer'], {
  news?: { ticker?: string, source?: string, headlines?: Headline[], detail?: string } // no schema for AnalyzeAnswer.news
  llm?: { provider?: string, model?: string } | null // no schema for AnalyzeAnswer.llm
}>

export type TaskProgress = Schemas['TrainingProgress']
export type Promotion = Schemas['Promotion']
export type TrainingResult = Schemas['TrainingResult']

// A task's result is a training's or a backtest's (by kind); each view reads the one it starts.
export type TaskRecord = Narrow<Schemas['TaskRecord'], { result?: TrainingResult }>
export type BacktestTask = Narrow<Schemas['TaskRecord'], { result?: BacktestResult }>

export type BacktestRequest = Schemas['BacktestRequest']
export type BacktestStarted = Schemas['BacktestStarted']
export type BacktestResult = Schemas['BacktestResult']
export type BacktestScore = Schemas['BacktestScore']
export type BacktestList = Schemas['BacktestList']

export type ModelVersion = Schemas['ModelVersion']
export type PastForecasts = Schemas['PastForecasts']
export type ModelSummary = Schemas['ModelSummary']

// RunList's runs: params, epochs and metrics have no schema, and created (when the run was
// logged) is missing from the document.
export type Run = Narrow<Schemas['RunList']['runs'][number], {
  params: { epochs?: number, learning_rate?: number, strategy?: string | null, start_date?: string | null }
  epochs: { epoch: number, train_loss: number, val_loss: number }[]
  metrics: { mean_mae?: { lstm?: number, naive?: number, drift?: number }, skill_vs_naive?: number }
}> & { created?: string }

// DriftReport.reference, .current and .policy: no schema for a data window or a policy rule.
type Window = { from?: string, to?: string, rows?: number }
export type DriftReport = Narrow<Schemas['DriftReport'], {
  reference?: Window
  current?: Window
  policy?: { rule?: string, action?: string, file?: string }
}>

// A page of GET /monitor/{ticker}/history, its reports narrowed as above.
export type MonitorHistory = Narrow<Schemas['MonitorHistory'], { drift: DriftReport[] }>

export type EvalCheck = Schemas['EvalCheck']
export type AgentEval = Schemas['AgentEval']

export type MonitorAnswer = Narrow<Schemas['MonitorAnswer'], {
  drift: DriftReport
  agent_eval: AgentEval | { status: string, detail: string } // MonitorAnswer.agent_eval is an open object
}>

// Health.components: the document gives each component's status only; admins get its details too.
export type ComponentHealth = { status: string, backend?: string, detail?: string, error?: string, [key: string]: unknown }
export type Health = Narrow<Schemas['Health'], { components: Record<string, ComponentHealth> }>

// Hyper-parameters for a training; left out, the server's defaults apply (docs/api.md, "Training").
export type TrainParams = Schemas['TrainParams']
export type TrainChild = Schemas['TrainChild']

export type TickerList = Schemas['TickerList']
export type Logs = Schemas['Logs']
export type CacheList = Schemas['CacheList']
export type CacheEntry = Schemas['CacheEntry']
export type ModelList = Schemas['ModelList']
export type RunList = Narrow<Schemas['RunList'], { runs: Run[] }>
export type TaskList = Narrow<Schemas['TaskList'], { tasks: TaskRecord[] }>
export type CancelAnswer = Narrow<Schemas['CancelAnswer'], { task: TaskRecord }>
