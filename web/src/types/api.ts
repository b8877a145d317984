// The API's shapes, as server/httpapi/openapi.json describes them. Only the fields the app reads
// are typed; the server may send more.

export type Horizon = '1' | '5' | '21' | '63'
export type ByHorizon = Partial<Record<Horizon, number | null>>

export type ForecastRow = {
  date: string
  open: number
  high: number
  low: number
  close: number
  volume: number
  close_low?: number // bounds of the 80% prediction interval, where the model gives them
  close_high?: number
}

export type Evaluation = {
  test_period?: { from: string, to: string, windows: number }
  horizons?: number[]
  metric?: string
  mae?: { lstm?: ByHorizon, naive?: ByHorizon }
  skill_vs_naive?: number // mean LSTM/naive MAE ratio: below 1 beats the naive forecast
  interval_coverage?: number
  interval_coverage_target?: number
}

export type Prediction = {
  ticker: string
  last_date: string
  future_window_days: number
  next_business_days: string[]
  predictions: {
    next_day: ForecastRow
    week: ForecastRow[]
    month: ForecastRow[]
    quarter: ForecastRow[]
    full_forecast: ForecastRow[]
  }
  history: { date: string, close: number }[]
  model_version: string
  data_as_of: string
  data_source?: string
  evaluation?: Evaluation
  interval?: { coverage_target?: number, fields?: string[] }
  disclaimer?: string
}

export type Stance = 'BULLISH' | 'BEARISH' | 'NEUTRAL'

export type Headline = { title: string, publisher?: string, url?: string, published?: string }

export type Analysis = {
  ticker: string
  final_report: string
  recommendation: Stance
  confidence: 'High' | 'Medium' | 'Low'
  predictions: Prediction
  news_sentiment: string
  news?: { source?: string, headlines?: Headline[], detail?: string }
  parse_status?: string
  flags?: string[] | null
  llm?: { provider?: string, model?: string } | null
  cached?: boolean
  created_at?: string
}

// What /analyze and /predict-child answer (202) while the model trains first.
export type TrainingStarted = { status: 'training', detail: string, task_id: string, ticker?: string }

export function isTraining(a: object | undefined): a is TrainingStarted {
  return a !== undefined && 'status' in a && a.status === 'training'
}

export type TaskStatus = 'queued' | 'running' | 'completed' | 'failed'

export type TaskProgress = {
  stage?: 'data' | 'epoch' | 'saved' | string
  epoch?: number
  epochs?: number
  train_loss?: number
  val_loss?: number
  best_val_loss?: number
  train_windows?: number
  val_windows?: number
  test_windows?: number
  version?: string
  promotion?: string
}

export type Promotion = {
  decision?: string
  promoted?: boolean
  reason?: string
  rule?: string
  new_mae?: number | null
  serving_mae?: number | null
  previous_version?: string | null
}

export type TrainingResult = {
  ticker?: string
  version?: string
  serving?: boolean
  promotion?: Promotion
  epochs_run?: number
  best_val_loss?: number
  seconds?: number
  data_as_of?: string
}

export type TaskRecord = {
  task_id: string
  kind: string
  status: TaskStatus
  detail?: string
  progress?: TaskProgress
  result?: TrainingResult
  error?: string
  created_at: string
  started_at?: string
  completed_at?: string
  failed_at?: string
  elapsed_seconds?: number
}

export type TrainAnswer = {
  status: 'started' | 'already running' | 'completed' | 'started_parent'
  task_id: string
  detail?: string
}

export type ModelVersion = {
  version: string
  created?: string
  serving?: boolean
  data_as_of?: string
  strategy?: string | null
  best_epoch?: number
  metrics?: { mae?: { lstm?: ByHorizon, naive?: ByHorizon }, skill_vs_naive?: number, interval_coverage?: number }
}

export type ModelSummary = {
  ticker: string
  symbol?: string
  model: string
  role: 'parent' | 'child'
  serving_version?: string | null
  versions: ModelVersion[]
}

export type Run = {
  model: string
  version: string
  created?: string
  seconds?: number
  params: { epochs?: number, learning_rate?: number, strategy?: string | null, start_date?: string | null }
  epochs: { epoch: number, train_loss: number, val_loss: number }[]
  metrics: { mean_mae?: { lstm?: number, naive?: number, drift?: number }, skill_vs_naive?: number }
  promotion: Promotion
  serving_version?: string
}

export type DriftHealth = 'Healthy' | 'Degraded (Warning)' | 'Critical (Drift Detected)'

export type DriftReport = {
  ticker: string
  health: DriftHealth
  drift_score: number
  volatility_index: number
  feature_metrics: Record<string, { ref_mean: number, curr_mean: number, shift_score: number, psi?: number }>
  timestamp: string
  status: string
  model_version?: string
  data_as_of?: string
  reference?: { from?: string, to?: string, rows?: number }
  current?: { from?: string, to?: string, rows?: number }
  policy?: { rule?: string, action?: string, file?: string }
  computed_health?: string
}

export type EvalCheck = { passed?: boolean, score?: number, detail?: string }

export type AgentEval = {
  ticker: string
  output_preview_text: string
  metrics: {
    checks: Record<string, EvalCheck>
    overall_score: number
    status: 'Trustworthy' | 'Questionable'
    duration_seconds: number
    timestamp: string
    failed_checks?: string[]
  }
  report_created_at?: string
}

export type MonitorAnswer = {
  ticker: string
  drift: DriftReport
  agent_eval: AgentEval | { status: string, detail: string }
}

export type ComponentHealth = { status: string, backend?: string, detail?: string, error?: string, [key: string]: unknown }

export type Health = {
  status: 'healthy' | 'degraded'
  version: string
  components: Record<string, ComponentHealth>
}
