import { Badge } from '../../../components/badge'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { formatMoment, formatPercent } from '../../../lib/format'
import { useEval } from '../api/get-eval'

// The checks of the analyst's latest report (relevance, sources, a stance, …).
export function EvalCard({ ticker }: { ticker: string }) {
  const { data: ev, error, isPending, refetch } = useEval(ticker)
  if (isPending) return <Loading>Loading the evaluation…</Loading>
  if (error) return <ErrorView error={error} onRetry={() => void refetch()} />
  if (ev === null) return <p className="text-sm text-muted">No evaluation yet: “Check now” scores the analyst's latest report on this model.</p>

  const m = ev.metrics
  return (
    <div className="space-y-2 text-sm">
      <div className="flex flex-wrap items-center gap-2">
        {m.status === 'Trustworthy'
          ? <Badge tone="up" icon="✓">Trustworthy</Badge>
          : <Badge tone="warn" icon="!">{m.status}</Badge>}
        <span>score {formatPercent(m.overall_score)}</span>
        <span className="text-muted">{formatMoment(m.timestamp)}</span>
      </div>
      <ul className="space-y-1">
        {Object.entries(m.checks).map(([name, passed]) => (
          <li key={name} className="flex gap-2">
            <span aria-hidden="true" className={passed ? 'text-up' : 'text-down'}>{passed ? '✓' : '✕'}</span>
            <span>
              <span className="font-medium">{name.replaceAll('_', ' ')}</span>
              <span className="sr-only">{passed ? ' passed' : ' failed'}</span>
              {m.check_details[name]?.detail && <span className="text-muted">: {m.check_details[name].detail}</span>}
            </span>
          </li>
        ))}
      </ul>
    </div>
  )
}
