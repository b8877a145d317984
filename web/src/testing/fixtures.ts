import type {
  AgentEval, Analysis, AnalysisForecast, DriftReport, ForecastRow, Health, ModelSummary, PastForecasts, Prediction, Run, TaskRecord,
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
