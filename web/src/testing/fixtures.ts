import type {
  AgentEval, Analysis, BacktestResult, AnalysisForecast, DriftReport, ForecastRow, Health, ModelSummary, PastForecasts, Prediction, Run, TaskRecord,
} from '../types/api'

// Payloads shaped as server/httpapi/openapi.json describes them (and as the server answers).
// Each is checked against its type in types/api.ts, which is the generated one with the open
// objects narrowed, so a payload the document does not allow fails to compile.

// Trading days after 2024-12-31, weekends skipped (holidays are the server's business).
function tradingDays(n: number): string[] {
  const out: string[] = []
  const d = new Date(Date.UTC(2025, 0, 2))
  while (out.length < n) {
    const wd = d.getUTCDay()
    if (wd !== 0 && wd !== 6) out.push(d.toISOString().slice(0, 10))
    d.setUTCDate(d.getUTCDate() + 1)
  }
  return out
}

export function forecastRows(last: number, dailyDrift: number): ForecastRow[] {
  return tradingDays(63).map((date, i) => {
    const close = last * (1 + dailyDrift * (i + 1))
    const spread = close * 0.01 * Math.sqrt(i + 1)
    return {
      date, open: close, high: close * 1.01, low: close * 0.99, close, volume: 20_000_000,
      close_low: close - spread, close_high: close + spread,
    }
  })
}

export function prediction(ticker = 'MSFT', dailyDrift = 0.001): Prediction {
  const last = 416.56
  const rows = forecastRows(last, dailyDrift)
  return {
    ticker,
    last_date: '2024-12-31',
    future_window_days: 63,
    next_business_days: rows.slice(0, 5).map((r) => r.date),
    predictions: {
      next_day: rows[0]!,
      week: rows.slice(0, 5),
      month: rows.slice(0, 21),
      quarter: rows,
      full_forecast: rows,
    },
    history: [
      { date: '2024-12-27', close: 430.53 },
      { date: '2024-12-30', close: 424.83 },
      { date: '2024-12-31', close: last },
    ],
    model_version: 'v20261127014638234-2d82',
    data_as_of: '2024-12-31',
    data_source: 'bundled',
    interval: { coverage_target: 0.8, fields: ['close_low', 'close_high'] },
    evaluation: {
      test_period: { from: '2021-04-14', to: '2024-12-31', windows: 873 },
      horizons: [1, 5, 21, 63],
      metric: 'mae of the close',
      mae: {
        lstm: { 1: 3.7, 5: 8.0, 21: 15.0, 63: 29.3 },
        naive: { 1: 3.71, 5: 8.3, 21: 16.75, 63: 29.1 },
      },
      skill_vs_naive: 0.95,
      interval_coverage: 0.73,
      interval_coverage_target: 0.8,
      serving_weights: 'refit',
    },
    summary: "Held-out error vs 'no change': 0.95× (5% better) over 2021-04–2024-12; 80% band held 73% (held-out).",
  }
}

// A forecast as /analyze answers it: the views beside the history.
export function analysisForecast(p: Prediction): AnalysisForecast {
  const { predictions, ...rest } = p
  return { ...rest, ...predictions }
}

export function analysis(overrides: Partial<Analysis> = {}): Analysis {
  const base: Analysis = {
    ticker: 'MSFT',
    final_report: '## Outlook\nThe model expects MSFT to hold steady.\nMarket Stance: NEUTRAL\nConfidence: Medium\n\n_Not investment advice._',
    recommendation: 'NEUTRAL',
    confidence: 'Medium',
    predictions: analysisForecast(prediction()),
    news_sentiment: 'mixed: earnings beat, guidance cautious',
    last_price: 416.56,
    news: {
      ticker: 'MSFT',
      source: 'finnhub',
      headlines: [
        { title: 'Microsoft beats estimates', publisher: 'Reuters', url: 'https://example.com/msft', published: '2024-12-30T14:00:00Z' },
        { title: 'Cloud growth slows', publisher: 'Bloomberg', url: 'javascript:alert(1)' },
      ],
    },
    parse_status: 'parsed',
    flags: [],
    llm: { provider: 'llama-cpp', model: 'SmolLM2-135M-Instruct.Q4_1' },
    cached: false,
    created_at: '2026-11-27T01:47:14Z',
  }
  return { ...base, ...overrides }
}

export function task(overrides: Partial<TaskRecord> = {}): TaskRecord {
  return { task_id: 'msft', kind: 'train_child', status: 'running', created_at: '2026-11-27T01:46:25Z', ...overrides }
}

export const completedTask = task({
  status: 'completed',
  progress: { stage: 'saved', version: 'v2', promotion: 'promoted' },
  result: {
    ticker: 'MSFT', version: 'v2', serving: true, epochs_run: 2, best_val_loss: 0.878, seconds: 3.9,
    promotion: { decision: 'promoted', promoted: true, reason: 'first model: no serving version' },
  },
  completed_at: '2026-11-27T01:46:38Z',
})

export const models = [
  {
    ticker: 'MSFT', symbol: 'MSFT', model: 'MSFT', role: 'child', serving_version: 'v2',
    versions: [{ version: 'v2', created: '2026-11-27T01:46:38+00:00', serving: true, data_as_of: '2024-12-31', metrics: { skill_vs_naive: 0.9, interval_coverage: 0.73 } }],
  },
  {
    ticker: 'parent', symbol: '^GSPC', model: 'parent', role: 'parent', serving_version: 'p1',
    versions: [{ version: 'p1', created: '2026-11-27T01:46:30+00:00', serving: true, data_as_of: '2024-12-31', metrics: { skill_vs_naive: 0.85 } }],
  },
] satisfies ModelSummary[]

export const runs = [{
  model: 'MSFT', version: 'v2', created: '2026-11-27T01:46:38+00:00',
  params: { epochs: 1, strategy: 'freeze' },
  epochs: [{ epoch: 1, train_loss: 0.99, val_loss: 0.87 }],
  metrics: { mean_mae: { lstm: 14.5, naive: 14.47 }, skill_vs_naive: 1.0 },
  promotion: { decision: 'promoted', promoted: true, reason: 'first model: no serving version', new_mae: 14.5, serving_mae: null },
}] satisfies Run[]

export function drift(health: DriftReport['health'] = 'Healthy'): DriftReport {
  return {
    ticker: 'MSFT', health, drift_score: 0.12, volatility_index: 0.71, status: 'ok', timestamp: '2026-11-27T01:47:22+00:00',
    feature_metrics: { Close: { ref_mean: 0.0002, curr_mean: 0.0002, shift_score: 0.004, psi: 0.17 }, MACD: { ref_mean: 0.0002, curr_mean: 0.003, shift_score: 0.13, psi: 3.27 } },
    current: { from: '2024-10-07', to: '2024-12-31', rows: 60 },
    policy: { rule: 'drift_health', action: '' },
  }
}

// Three daily checks, newest first as the API sends them: the last one critical, with a retrain.
export const driftHistory: DriftReport[] = [
  { ...drift('Critical (Drift Detected)'), drift_score: 2.4, volatility_index: 1.7, timestamp: '2026-11-29T06:00:00+00:00', policy: { rule: 'drift_health', action: 'retrain' } },
  { ...drift('Degraded (Warning)'), drift_score: 1.3, volatility_index: 1.2, timestamp: '2026-11-28T06:00:00+00:00' },
  { ...drift(), timestamp: '2026-11-27T06:00:00+00:00' },
]

// Two held-out forecasts of three days each over a week of closes; the second one's band misses
// its last day.
export const pastForecasts: PastForecasts = {
  ticker: 'MSFT', model_version: 'v2',
  test_period: { from: '2024-06-03', to: '2024-06-11', windows: 4 },
  closes: ['2024-06-03', '2024-06-04', '2024-06-05', '2024-06-06', '2024-06-07', '2024-06-10', '2024-06-11'].map((date, i) => ({ date, close: 400 + i })),
  forecasts: [
    { cutoff: '2024-06-03', last_close: 400, path: [['2024-06-04', 401], ['2024-06-05', 402], ['2024-06-06', 403]].map(([date, actual]) => ({ date: String(date), close: 400.5, close_low: 398, close_high: 404, actual: Number(actual) })) },
    { cutoff: '2024-06-06', last_close: 403, path: [['2024-06-07', 404], ['2024-06-10', 405], ['2024-06-11', 406]].map(([date, actual]) => ({ date: String(date), close: 402, close_low: 399, close_high: 405.5, actual: Number(actual) })) },
  ],
}

export const evaluation = {
  ticker: 'MSFT',
  output_preview_text: 'Market Stance: NEUTRAL',
  metrics: {
    checks: { relevance: false, has_recommendation: true },
    check_details: { relevance: { passed: false, score: 0, detail: 'MSFT is not mentioned' }, has_recommendation: { passed: true, score: 1, detail: 'states NEUTRAL' } },
    overall_score: 0.74, status: 'Trustworthy', duration_seconds: 0.001, timestamp: '2026-11-27T01:47:22+00:00',
  },
} satisfies AgentEval

// Three evaluations, newest first as the API sends them: the middle one failed two checks.
export const evalHistory: AgentEval[] = [
  { ...evaluation, metrics: { ...evaluation.metrics, timestamp: '2026-11-29T06:00:00+00:00' } },
  {
    ...evaluation,
    metrics: {
      ...evaluation.metrics, overall_score: 0.42, status: 'Questionable', timestamp: '2026-11-28T06:00:00+00:00',
      checks: { relevance: false, has_recommendation: false }, failed_checks: ['relevance', 'has_recommendation'],
    },
  },
  { ...evaluation, metrics: { ...evaluation.metrics, overall_score: 0.9, timestamp: '2026-11-27T06:00:00+00:00' } },
]

export const health = {
  status: 'healthy',
  version: '0.1.0',
  components: {
    python: { status: 'up', interpreter: { version: '3.11.7 (main)', executable: '/srv/.venv/bin/python' } },
    store: { status: 'up', backend: 'memory' },
    vector_store: { status: 'down', backend: 'qdrant', error: 'connection refused' },
    llm: { status: 'up', provider: 'llama-cpp', model: 'SmolLM2-135M-Instruct.Q4_1' },
  },
} satisfies Health

// A backtest of MSFT over four trading days with the three forecasters at horizons 1 and 5.
export const backtest = {
  backtest_id: '20261127T014700000000Z-0a1b2c3d4e5f', model: 'MSFT', created: '2026-11-27T01:47:00+00:00', ticker: 'MSFT',
  request: { ticker: 'MSFT', symbol: 'MSFT', start_date: '2024-12-20', end_date: '2024-12-31', horizons: [1, 5], refit_every: null, cost_bps: 5, forecasters: ['naive', 'drift', 'lstm'], epochs: null },
  data_range: { first_origin: '2024-12-20', last_origin: '2024-12-26', last_outcome: '2024-12-31', origins: 4, burn_in_from: '2023-12-20', burn_in_origins: 250 },
  scores: [1, 5].flatMap((horizon) => (['naive', 'drift', 'lstm'] as const).map((forecaster, i) => ({
    horizon, forecaster, n: horizon === 1 ? 4 : 1,
    mae: 2 + i, mase: forecaster === 'naive' ? 1 : horizon === 1 ? 0.8 + i * 0.1 : 1.2,
    directional_accuracy: 0.75, directional_ci: [0.3, 0.95],
    coverage: { 80: 0.75, 95: 1 }, width: { 80: 8, 95: 12 }, winkler: { 80: 10, 95: 14 },
  }))),
  strategy: {
    forecaster: 'lstm', cost_bps: 5,
    strategy: { total_return: 0.012, annualised_volatility: 0.15, sharpe: 1.1, max_drawdown: -0.004, turnover: 2 },
    buy_and_hold: { total_return: -0.01, annualised_volatility: 0.2, sharpe: -0.5, max_drawdown: -0.02, turnover: 1 },
  },
  equity: [
    { date: '2024-12-20', strategy: 1, buy_and_hold: 1 },
    { date: '2024-12-23', strategy: 1.004, buy_and_hold: 0.996 },
    { date: '2024-12-24', strategy: 1.01, buy_and_hold: 1.003 },
    { date: '2024-12-26', strategy: 1.012, buy_and_hold: 0.99 },
  ],
  notes: ['h=1: drift beat persistence on MAE (MASE below 1)'],
  seconds: 6.2,
} satisfies BacktestResult
