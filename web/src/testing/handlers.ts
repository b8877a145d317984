import { http, HttpResponse } from 'msw'
import type {
  BacktestList, BacktestStarted, CacheList, CancelAnswer, Logs, ModelList, MonitorAnswer, MonitorHistory, RunList, TaskList, TaskRecord, TickerList, TrainAnswer,
} from '../types/api'
import type { components, paths } from '../types/openapi'
import * as f from './fixtures'

// MSW's spelling of one of the document's paths ({name} becomes :name), so a handler for a path
// the document lacks fails to compile.
function route(path: keyof paths): string {
  return path.replace(/\{(\w+)\}/g, ':$1')
}

// The API as the app sees it, answering every endpoint the app calls, each payload checked
// against the document's type. Tests override single handlers with server.use(...).
export const handlers = [
  http.get(route('/tickers'), () => HttpResponse.json({
    tickers: [{ symbol: 'AAPL', first_date: '2000-01-03', last_date: '2024-12-31', rows: 6289, source: 'bundled' },
      { symbol: 'MSFT', first_date: '2000-03-15', last_date: '2024-12-31', rows: 6239, source: 'bundled' }],
    data_source: 'bundled',
  } satisfies TickerList)),
  http.post(route('/predict-child'), () => HttpResponse.json({ result: f.prediction() } satisfies components['schemas']['PredictionAnswer'])),
  http.post(route('/analyze'), () => HttpResponse.json(f.analysis())),
  http.get(route('/status/{task_id}'), ({ params }) => HttpResponse.json({ ...f.completedTask, task_id: String(params.task_id) } satisfies TaskRecord)),
  http.get(route('/tasks'), () => HttpResponse.json({ tasks: [f.task(), { ...f.completedTask, task_id: 'parent_training', kind: 'train_parent' }], count: 2 } satisfies TaskList)),
  http.delete(route('/tasks/{task_id}'), ({ params }) => HttpResponse.json({ status: 'cancelling', task_id: String(params.task_id), task: f.task() } satisfies CancelAnswer)),
  http.post(route('/train-parent'), () => HttpResponse.json({ status: 'started', task_id: 'parent_training' } satisfies TrainAnswer)),
  http.post(route('/train-child'), () => HttpResponse.json({ status: 'started', task_id: 'msft' } satisfies TrainAnswer)),
  http.get(route('/models'), () => HttpResponse.json({ models: f.models } satisfies ModelList)),
  http.get(route('/models/{ticker}/past-forecasts'), () => HttpResponse.json(f.pastForecasts)),
  http.post(route('/backtest'), () => HttpResponse.json({ status: 'started', task_id: 'backtest_msft' } satisfies BacktestStarted, { status: 202 })),
  http.get(route('/models/{ticker}/backtests'), ({ params }) => HttpResponse.json({ ticker: String(params.ticker), backtests: [f.backtest] } satisfies BacktestList)),
  http.get(route('/models/{ticker}/runs'), ({ params }) => HttpResponse.json({ ticker: String(params.ticker), runs: f.runs } satisfies RunList)),
  http.get(route('/monitor/{ticker}/drift'), () => HttpResponse.json(f.drift())),
  http.get(route('/monitor/{ticker}/eval'), () => HttpResponse.json(f.evaluation)),
  http.get(route('/monitor/{ticker}/history'), ({ params }) => HttpResponse.json({ ticker: String(params.ticker), drift: f.driftHistory, evals: [f.evaluation], next_cursor: null } satisfies MonitorHistory)),
  http.post(route('/monitor/{ticker}'), () => HttpResponse.json({ ticker: 'MSFT', is_parent: false, drift: f.drift(), agent_eval: f.evaluation } satisfies MonitorAnswer)),
  http.get(route('/health'), () => HttpResponse.json(f.health)),
  http.get(route('/system/cache'), () => HttpResponse.json({ cached_tickers: ['MSFT'], count: 1 } satisfies CacheList)),
  http.get(route('/system/logs'), () => HttpResponse.json({ logs: 'time=1 level=INFO msg=ok\ntime=2 level=ERROR msg=boom\n', filename: 'server.log', lines: 2 } satisfies Logs)),
]

// The {"detail"} error answer of docs/api.md, with extra headers (Retry-After).
export function apiError(status: number, detail: string, headers: Record<string, string> = {}) {
  return HttpResponse.json({ detail } satisfies components['schemas']['Error'], { status, headers })
}
