import { useState } from 'react'
import { Badge } from '../../../components/badge'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { formatMoment, formatNumber } from '../../../lib/format'
import type { Promotion } from '../../../types/api'
import { useRuns } from '../api/get-runs'

function PromotionBadge({ p }: { p: Promotion }) {
  if (p.promoted) return <Badge tone="up" icon="✓">{p.decision ?? 'promoted'}</Badge>
  return <Badge tone="warn" icon="✕">{p.decision ?? 'kept the serving version'}</Badge>
}

// Training runs and the promotion decision of each: did the new version take over, and why.
export function RunsList({ ticker }: { ticker: string }) {
  const [open, setOpen] = useState(false)
  const { data, error, isPending, refetch } = useRuns(ticker, open)
  return (
    <details onToggle={(e) => setOpen(e.currentTarget.open)} className="text-sm">
      <summary className="cursor-pointer text-accent">Training runs and promotion decisions</summary>
      <div className="mt-2">
        {!open ? null : isPending ? <Loading>Loading runs…</Loading> : error ? <ErrorView error={error} onRetry={() => void refetch()} /> : data.runs.length === 0 ? (
          <p className="text-muted">No runs logged.</p>
        ) : (
          <ol className="space-y-2">
            {data.runs.map((r) => (
              <li key={r.version} className="rounded-lg border border-line p-2">
                <div className="flex flex-wrap items-center gap-2">
                  <span className="font-mono text-xs">{r.version}</span>
                  <PromotionBadge p={r.promotion} />
                  {r.created && <span className="text-muted">{formatMoment(r.created)}</span>}
                </div>
                <p className="mt-1">{r.promotion.reason}</p>
                <p className="text-muted">
                  {r.epochs.length} epoch{r.epochs.length === 1 ? '' : 's'}
                  {r.params.strategy ? `, ${r.params.strategy}` : ''}
                  {r.promotion.new_mae != null && `; mean error ${formatNumber(r.promotion.new_mae, 2)}`}
                  {r.promotion.serving_mae != null && ` against the serving version's ${formatNumber(r.promotion.serving_mae, 2)}`}
                  {r.metrics.mean_mae?.naive !== undefined && ` (“no change”: ${formatNumber(r.metrics.mean_mae.naive, 2)})`}
                </p>
              </li>
            ))}
          </ol>
        )}
      </div>
    </details>
  )
}
