import type { ReactNode } from 'react'
import { Badge, type Tone } from '../../../components/badge'
import { formatChange, formatMarketDate, formatPrice } from '../../../lib/format'
import type { Analysis, Stance } from '../../../types/api'
import { forecastRows, type ChartHorizon } from './chart-data'

const stanceLook: Record<Stance, { tone: Tone, icon: string, words: string }> = {
  BULLISH: { tone: 'up', icon: '▲', words: 'expects a rise' },
  BEARISH: { tone: 'down', icon: '▼', words: 'expects a fall' },
  NEUTRAL: { tone: 'flat', icon: '●', words: 'expects no clear move' },
}

const moveClass: Record<Tone, string> = { up: 'text-up', down: 'text-down', flat: 'text-flat', warn: 'text-warn', info: 'text-fg' }

const confidenceLevel = { Low: 1, Medium: 2, High: 3 } as const

export function lastPrice(a: Analysis): number | undefined {
  return a.last_price ?? a.predictions.history.at(-1)?.close
}

// Below this the move is shown as flat: a rounding error is no direction.
const flatBelow = 0.0005

export function KpiRow({ analysis, horizon }: { analysis: Analysis, horizon: ChartHorizon }) {
  const p = analysis.predictions
  const last = lastPrice(analysis)
  const target = forecastRows(p, horizon).at(-1)
  const change = last !== undefined && target ? target.close / last - 1 : undefined
  const moveTone: Tone = change === undefined || Math.abs(change) < flatBelow ? 'flat' : change > 0 ? 'up' : 'down'
  const stance = stanceLook[analysis.recommendation] ?? stanceLook.NEUTRAL
  const level = confidenceLevel[analysis.confidence] ?? 1

  return (
    <dl className="grid grid-cols-2 gap-3 lg:grid-cols-4">
      <Kpi label="Last close">
        <span className="text-2xl font-semibold tabular-nums">{last !== undefined ? formatPrice(last) : '–'}</span>
        <span className="block text-sm text-muted">on {formatMarketDate(p.data_as_of, false)}</span>
      </Kpi>
      <Kpi label={`Forecast in ${horizon} trading days`}>
        {target && change !== undefined ? (
          <>
            <span data-tone={moveTone} className={`text-2xl font-semibold tabular-nums ${moveClass[moveTone]}`}>{formatChange(change)}</span>
            <span className="block text-sm text-muted">
              to {formatPrice(target.close)} by {formatMarketDate(target.date, false)}
              {target.close_low !== undefined && target.close_high !== undefined &&
                ` (80% range ${formatPrice(target.close_low)}–${formatPrice(target.close_high)})`}
            </span>
          </>
        ) : '–'}
      </Kpi>
      <Kpi label="Analyst's stance">
        <Badge tone={stance.tone} icon={stance.icon}>{analysis.recommendation}</Badge>
        <span className="mt-1 block text-sm text-muted">{stance.words}</span>
      </Kpi>
      <Kpi label="Analyst's confidence">
        <span className="text-2xl font-semibold">{analysis.confidence}</span>
        <span aria-hidden="true" className="ml-2 inline-flex gap-1 align-middle">
          {[1, 2, 3].map((i) => (
            <span key={i} className={`inline-block size-2.5 rounded-full ${i <= level ? 'bg-fg' : 'bg-line'}`} />
          ))}
        </span>
      </Kpi>
    </dl>
  )
}

function Kpi({ label, children }: { label: string, children: ReactNode }) {
  return (
    <div className="rounded-xl border border-line bg-surface p-3 sm:p-4">
      <dt className="text-sm text-muted">{label}</dt>
      <dd className="mt-1">{children}</dd>
    </div>
  )
}
