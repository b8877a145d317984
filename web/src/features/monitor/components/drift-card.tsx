import { Badge, type Tone } from '../../../components/badge'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { formatMarketDate, formatMoment, formatNumber } from '../../../lib/format'
import type { DriftHealth } from '../../../types/api'
import { useDrift } from '../api/get-drift'

// Each of the three health levels (docs/api.md, "Monitoring") has its own colour, symbol and words.
const levels: Record<DriftHealth, { tone: Tone, icon: string, meaning: string }> = {
  'Healthy': { tone: 'up', icon: '✓', meaning: 'Recent prices behave like the ones the model learned from.' },
  'Degraded (Warning)': { tone: 'warn', icon: '!', meaning: 'Recent prices have started to differ: watch the forecasts.' },
  'Critical (Drift Detected)': { tone: 'down', icon: '✕', meaning: 'Recent prices differ a lot: retrain before trusting the forecasts.' },
}

function DriftHealthBadge({ health }: { health: string }) {
  const l = levels[health as DriftHealth] ?? { tone: 'info' as const, icon: '?' }
  return <Badge tone={l.tone} icon={l.icon}>{health}</Badge>
}

export function DriftCard({ ticker }: { ticker: string }) {
  const { data: drift, error, isPending, refetch } = useDrift(ticker)
  if (isPending) return <Loading>Loading drift…</Loading>
  if (error) return <ErrorView error={error} onRetry={() => void refetch()} />
  if (drift === null) return <p className="text-sm text-muted">No drift report yet: press “Check now”.</p>

  const meaning = levels[drift.health]?.meaning
  const features = Object.entries(drift.feature_metrics).sort((a, b) => b[1].shift_score - a[1].shift_score)
  return (
    <div className="space-y-2 text-sm" data-health={drift.health}>
      <div className="flex flex-wrap items-center gap-2">
        <DriftHealthBadge health={drift.health} />
        <span className="text-muted">{formatMoment(drift.timestamp)}</span>
      </div>
      {meaning && <p>{meaning}</p>}
      <p className="text-muted">
        Drift score {formatNumber(drift.drift_score, 2)} (1 warns, 2 is critical) · volatility ratio {formatNumber(drift.volatility_index, 2)} (normal 0.6–1.5)
        {drift.current?.from && drift.current.to && ` · recent window ${formatMarketDate(drift.current.from, false)} to ${formatMarketDate(drift.current.to, false)}`}
        {drift.policy?.rule && ` · decided by the policy rule “${drift.policy.rule}”${drift.policy.action ? `, action ${drift.policy.action}` : ''}`}
      </p>
      <details>
        <summary className="cursor-pointer text-accent">Shift by feature</summary>
        <table className="mt-1 text-left tabular-nums">
          <caption className="sr-only">Shift of each input feature, largest first</caption>
          <thead className="text-muted">
            <tr>
              <th scope="col" className="pr-4 font-medium">Feature</th>
              <th scope="col" className="pr-4 font-medium">Shift (std devs)</th>
              <th scope="col" className="font-medium">PSI</th>
            </tr>
          </thead>
          <tbody>
            {features.map(([name, m]) => (
              <tr key={name}>
                <th scope="row" className="pr-4 font-normal">{name}</th>
                <td className="pr-4">{formatNumber(m.shift_score, 3)}</td>
                <td>{m.psi !== undefined ? formatNumber(m.psi, 3) : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  )
}
