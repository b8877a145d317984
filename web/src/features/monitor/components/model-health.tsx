import { useId, useState } from 'react'
import { Button } from '../../../components/button'
import { ErrorView } from '../../../components/error-view'
import { historyRanges, type HistoryRange } from '../api/get-history'
import { useRunMonitor } from '../api/run-monitor'
import { DriftCard } from './drift-card'
import { DriftHistoryChart } from './drift-history-chart'
import { EvalCard } from './eval-card'
import { EvalHistoryChart } from './eval-history-chart'

// Drift and the analyst's evaluation for one model, with a button to check both now.
export function ModelHealth({ ticker }: { ticker: string }) {
  const run = useRunMonitor()
  const running = run.isPending && run.variables === ticker
  const [range, setRange] = useState<HistoryRange>('latest')
  const rangeId = useId()
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-3">
        <Button variant="secondary" onClick={() => run.mutate(ticker)} disabled={running} aria-label={`Check drift and evaluation of ${ticker} now`}>
          {running ? 'Checking…' : 'Check now'}
        </Button>
        <span className="text-xs text-muted">Evaluates the latest report; writes one first if there is none (up to a minute).</span>
      </div>
      {run.error && <ErrorView error={run.error} />}
      <div className="grid gap-4 md:grid-cols-2">
        <div>
          <h4 className="mb-1 text-sm font-semibold">Data drift</h4>
          <DriftCard ticker={ticker} />
        </div>
        <div>
          <h4 className="mb-1 text-sm font-semibold">Analyst evaluation</h4>
          <EvalCard ticker={ticker} />
        </div>
      </div>
      <div className="flex items-center gap-2 text-sm">
        <label htmlFor={rangeId} className="font-medium">History shown</label>
        <select id={rangeId} value={range} onChange={(e) => setRange(e.target.value as HistoryRange)} className="min-h-10 rounded-lg border border-line bg-surface px-2">
          {historyRanges.map((r) => <option key={r.value} value={r.value}>{r.label}</option>)}
        </select>
      </div>
      <div className="max-w-3xl space-y-4">
        <DriftHistoryChart ticker={ticker} range={range} />
        <EvalHistoryChart ticker={ticker} range={range} />
      </div>
    </div>
  )
}
