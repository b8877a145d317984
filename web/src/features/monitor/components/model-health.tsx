import { Button } from '../../../components/button'
import { ErrorView } from '../../../components/error-view'
import { useRunMonitor } from '../api/run-monitor'
import { DriftCard } from './drift-card'
import { DriftHistoryChart } from './drift-history-chart'
import { EvalCard } from './eval-card'

// Drift and the analyst's evaluation for one model, with a button to check both now.
export function ModelHealth({ ticker }: { ticker: string }) {
  const run = useRunMonitor()
  const running = run.isPending && run.variables === ticker
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
      <div className="max-w-3xl">
        <DriftHistoryChart ticker={ticker} />
      </div>
    </div>
  )
}
