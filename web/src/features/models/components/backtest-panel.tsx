import { useId, useState, type FormEvent } from 'react'
import { Button } from '../../../components/button'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { formatDuration, formatMarketDate, formatMoment } from '../../../lib/format'
import type { BacktestRequest, BacktestResult } from '../../../types/api'
import { useBacktests, useBacktestTask, useStartBacktest } from '../api/backtests'
import { CoverageTable, EquityChart, MaseChart, StrategyTable } from './backtest-charts'

const HORIZONS = [1, 5, 21] as const
const MAX_REFIT_EVERY = 252
const MAX_COST_BPS = 1000

type Form = { start: string, end: string, horizons: number[], refitEvery: string, costBps: string }

// A year back from the model's data date, for a first backtest.
function defaults(dataAsOf: string | undefined): Form {
  const end = dataAsOf?.slice(0, 10) ?? ''
  const start = end ? `${Number(end.slice(0, 4)) - 1}${end.slice(4)}` : ''
  return { start, end, horizons: [...HORIZONS], refitEvery: '', costBps: '' }
}

// The form as a request, or what is wrong with it (the server checks the same, and the dates
// against the ticker's data).
export function backtestRequest(ticker: string, f: Form): { ok: true, body: BacktestRequest } | { ok: false, reason: string } {
  const iso = /^\d{4}-\d{2}-\d{2}$/
  if (!iso.test(f.start) || !iso.test(f.end)) return { ok: false, reason: 'Give a start and an end date.' }
  if (f.start >= f.end) return { ok: false, reason: 'The start date must come before the end date.' }
  if (f.horizons.length === 0) return { ok: false, reason: 'Choose at least one horizon.' }
  const body: BacktestRequest = { ticker, start_date: f.start, end_date: f.end, horizons: [...f.horizons].sort((a, b) => a - b) as BacktestRequest['horizons'] }
  if (f.refitEvery !== '') {
    const k = Number(f.refitEvery)
    if (!Number.isInteger(k) || k < 1 || k > MAX_REFIT_EVERY) return { ok: false, reason: `Refit every must be a whole number from 1 to ${MAX_REFIT_EVERY}.` }
    body.refit_every = k
  }
  if (f.costBps !== '') {
    const c = Number(f.costBps)
    if (!Number.isFinite(c) || c < 0 || c > MAX_COST_BPS) return { ok: false, reason: `The cost must be from 0 to ${MAX_COST_BPS} basis points.` }
    body.cost_bps = c
  }
  return { ok: true, body }
}

// A model's walk-forward backtests: start one, watch it, and read the newest (or an earlier) result.
export function BacktestPanel({ ticker, dataAsOf }: { ticker: string, dataAsOf?: string }) {
  const [form, setForm] = useState<Form>(() => defaults(dataAsOf))
  const [problem, setProblem] = useState<string>()
  const [taskId, setTaskId] = useState<string>()
  const [chosen, setChosen] = useState<string>()
  const start = useStartBacktest()
  const list = useBacktests(ticker)
  const id = useId()
  const field = (name: string) => `${id}-${name}`

  function submit(e: FormEvent) {
    e.preventDefault()
    const req = backtestRequest(ticker, form)
    if (!req.ok) {
      setProblem(req.reason)
      return
    }
    setProblem(undefined)
    start.mutate(req.body, { onSuccess: (answer) => { setTaskId(answer.task_id); setChosen(undefined) } })
  }
  const toggle = (h: number) => setForm((f) => ({ ...f, horizons: f.horizons.includes(h) ? f.horizons.filter((x) => x !== h) : [...f.horizons, h] }))
  const input = 'min-h-10 rounded-lg border border-line bg-surface px-3'

  const results = list.data?.backtests ?? []
  const shown = results.find((r) => r.backtest_id === chosen) ?? results[0]
  return (
    <section aria-labelledby={field('title')} className="space-y-3" data-testid="backtest-panel">
      <h4 id={field('title')} className="font-semibold">Backtest</h4>
      <form onSubmit={submit} noValidate className="flex flex-wrap items-end gap-3" aria-label={`Start a backtest of ${ticker}`}>
        <div className="flex flex-col gap-1">
          <label htmlFor={field('start')} className="text-sm font-medium">From</label>
          <input id={field('start')} type="date" value={form.start} onChange={(e) => setForm({ ...form, start: e.target.value })} className={input} />
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor={field('end')} className="text-sm font-medium">To</label>
          <input id={field('end')} type="date" value={form.end} onChange={(e) => setForm({ ...form, end: e.target.value })} className={input} />
        </div>
        <fieldset className="flex min-h-10 items-center gap-3 text-sm">
          <legend className="mb-1 text-sm font-medium">Horizons (trading days)</legend>
          {HORIZONS.map((h) => (
            <label key={h} className="flex items-center gap-1">
              <input type="checkbox" checked={form.horizons.includes(h)} onChange={() => toggle(h)} className="size-4" />
              {h}
            </label>
          ))}
        </fieldset>
        <div className="flex flex-col gap-1">
          <label htmlFor={field('refit')} className="text-sm font-medium">Refit every <span className="font-normal text-muted">(origins, optional)</span></label>
          <input id={field('refit')} type="number" min={1} max={MAX_REFIT_EVERY} inputMode="numeric" value={form.refitEvery} onChange={(e) => setForm({ ...form, refitEvery: e.target.value })} className={`${input} w-28`} />
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor={field('cost')} className="text-sm font-medium">Cost <span className="font-normal text-muted">(basis points, optional)</span></label>
          <input id={field('cost')} type="number" min={0} max={MAX_COST_BPS} step="any" inputMode="decimal" value={form.costBps} onChange={(e) => setForm({ ...form, costBps: e.target.value })} className={`${input} w-28`} />
        </div>
        <Button type="submit" disabled={start.isPending}>Run backtest</Button>
      </form>
      {problem && <p role="alert" className="text-sm text-down">{problem}</p>}
      {start.error && <ErrorView error={start.error} />}
      {taskId && <BacktestProgress key={taskId} ticker={ticker} taskId={taskId} />}

      {list.isPending ? <Loading>Loading backtests…</Loading>
        : list.error ? <ErrorView error={list.error} onRetry={() => void list.refetch()} />
        : !shown ? <p className="text-sm text-muted">No backtest of this model yet. Run one above: it forecasts every trading day of the range from the days before it only.</p>
        : (
          <div className="space-y-4">
            {results.length > 1 && (
              <label className="flex flex-wrap items-center gap-2 text-sm">
                Result
                <select value={shown.backtest_id} onChange={(e) => setChosen(e.target.value)} className="min-h-10 rounded-lg border border-line bg-surface px-2">
                  {results.map((r) => <option key={r.backtest_id} value={r.backtest_id}>{describe(r)}</option>)}
                </select>
              </label>
            )}
            <BacktestResultView result={shown} />
          </div>
        )}
    </section>
  )
}

function describe(r: BacktestResult): string {
  const q = r.request
  return `${formatMarketDate(q.start_date, false)} to ${formatMarketDate(q.end_date, false)}, ${q.cost_bps} bp (run ${formatMoment(r.created)})`
}

function BacktestProgress({ ticker, taskId }: { ticker: string, taskId: string }) {
  const { data: task, error } = useBacktestTask(ticker, taskId)
  if (error) return <ErrorView error={error} />
  if (!task) return <Loading>Starting the backtest…</Loading>
  if (task.status === 'failed') return <ErrorView error={new Error(`The backtest failed: ${task.error ?? task.detail ?? 'no reason given'}`)} />
  if (task.status === 'completed') {
    return <p role="status" className="text-sm text-muted">Backtest done{task.elapsed_seconds !== undefined ? ` in ${formatDuration(task.elapsed_seconds)}` : ''}: its result is below.</p>
  }
  const done = task.progress?.stage === 'backtest' ? task.progress.done : undefined
  const total = task.progress?.stage === 'backtest' ? task.progress.total : undefined
  const label = task.status === 'queued' ? 'Waiting for a free worker' : done !== undefined && total ? `Origin ${done} of ${total}` : 'Preparing the data and the forecasters'
  return (
    <div className="space-y-1" role="status">
      <p className="text-sm">{label}</p>
      <progress
        className="h-2 w-full max-w-md"
        aria-label="Backtest progress"
        max={total ?? 1}
        value={done ?? undefined}
      />
    </div>
  )
}

function BacktestResultView({ result }: { result: BacktestResult }) {
  const range = result.data_range
  return (
    <div className="space-y-4" data-testid="backtest-result">
      <p className="text-sm text-muted">
        {range?.origins ?? 0} origins from {formatMarketDate(range?.first_origin ?? result.request.start_date, false)} to {formatMarketDate(range?.last_origin ?? result.request.end_date, false)}
        {result.seconds !== undefined ? `, computed in ${formatDuration(result.seconds)}` : ''}.
      </p>
      <div className="grid gap-4 md:grid-cols-2">
        <EquityChart result={result} />
        <MaseChart result={result} />
      </div>
      <div className="flex flex-wrap gap-8">
        <StrategyTable result={result} />
        <CoverageTable result={result} />
      </div>
      {result.notes && result.notes.length > 0 && (
        <ul className="list-disc pl-5 text-sm text-muted">{result.notes.map((n) => <li key={n}>{n}</li>)}</ul>
      )}
    </div>
  )
}
