import type { ReactNode } from 'react'
import { Badge, type Tone } from '../../../components/badge'
import { Skeleton } from '../../../components/skeleton'
import { formatChange, formatMarketDate, formatPrice } from '../../../lib/format'
import { isTraining, type Prediction, type Stance } from '../../../types/api'
import { useAnalysis } from '../api/analyze'
import { forecastRows, type ChartHorizon } from './chart-data'

const stanceLook: Record<Stance, { tone: Tone, icon: string, words: string }> = {
  BULLISH: { tone: 'up', icon: '▲', words: 'expects a rise' },
  BEARISH: { tone: 'down', icon: '▼', words: 'expects a fall' },
  NEUTRAL: { tone: 'flat', icon: '●', words: 'expects no clear move' },
}

const moveClass: Record<Tone, string> = { up: 'text-up', down: 'text-down', flat: 'text-flat', warn: 'text-warn', info: 'text-fg' }

const confidenceLevel = { Low: 1, Medium: 2, High: 3 } as const

export function lastClose(p: Prediction): number | undefined {
  return p.history.at(-1)?.close
}

// Below this the move is shown as flat: a rounding error is no direction.
const flatBelow = 0.0005

// The price and the forecast from the model, the stance and confidence from the analyst's report.
export function KpiRow({ ticker, prediction: p, horizon }: { ticker: string, prediction: Prediction, horizon: ChartHorizon }) {
  const last = lastClose(p)
  const target = forecastRows(p, horizon).at(-1)
  const change = last !== undefined && target ? target.close / last - 1 : undefined
  const moveTone: Tone = change === undefined || Math.abs(change) < flatBelow ? 'flat' : change > 0 ? 'up' : 'down'

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
      <AnalystKpis ticker={ticker} />
    </dl>
  )
}

// The report's verdict, which comes after the forecast: until then each cell says so.
function AnalystKpis({ ticker }: { ticker: string }) {
  const analysis = useAnalysis(ticker)
  const a = isTraining(analysis.data) ? undefined : analysis.data
  if (!a) {
    // The report's card says why there is none.
    const cell = analysis.error && !analysis.isFetching
      ? <>–<span className="mt-1 block text-sm text-muted">no report</span></>
      : <><Skeleton className="h-7 w-24" /><span className="mt-1 block text-sm text-muted">comes with the report</span></>
    return (
      <>
        <Kpi label="Analyst's stance">{cell}</Kpi>
        <Kpi label="Analyst's confidence">{cell}</Kpi>
      </>
    )
  }
  const stance = stanceLook[a.recommendation] ?? stanceLook.NEUTRAL
  const level = confidenceLevel[a.confidence] ?? 1
  return (
    <>
      <Kpi label="Analyst's stance">
        <Badge tone={stance.tone} icon={stance.icon}>{a.recommendation}</Badge>
        <span className="mt-1 block text-sm text-muted">{stance.words}</span>
      </Kpi>
      <Kpi label="Analyst's confidence">
        <span className="text-2xl font-semibold">{a.confidence}</span>
        <span aria-hidden="true" className="ml-2 inline-flex gap-1 align-middle">
          {[1, 2, 3].map((i) => (
            <span key={i} className={`inline-block size-2.5 rounded-full ${i <= level ? 'bg-fg' : 'bg-line'}`} />
          ))}
        </span>
      </Kpi>
    </>
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
