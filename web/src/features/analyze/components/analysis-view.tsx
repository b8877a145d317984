import { lazy, Suspense, useState } from 'react'
import { Card } from '../../../components/card'
import { Disclaimer } from '../../../components/disclaimer'
import { Loading } from '../../../components/loading'
import { formatMarketDate, formatPrice } from '../../../lib/format'
import type { Prediction } from '../../../types/api'
import { Accuracy } from './accuracy'
import { forecastRows, type ChartHorizon } from './chart-data'
import { DataAsOf } from './data-as-of'
import { ForecastTable } from './forecast-table'
import { HorizonPicker } from './horizon-picker'
import { KpiRow, lastClose } from './kpi-row'
import { News } from './news'
import { Report } from './report'

// The chart library loads in parallel with the rest, not before it.
const ForecastChart = lazy(() => import('./forecast-chart'))

function chartLabel(ticker: string, p: Prediction, h: ChartHorizon): string {
  const last = lastClose(p)
  const target = forecastRows(p, h).at(-1)
  const parts = [`Chart of ${ticker}'s closing prices for the last ${p.history.length} trading days`]
  if (last !== undefined) parts.push(`last close ${formatPrice(last)} on ${formatMarketDate(p.data_as_of, false)}`)
  if (target) parts.push(`forecast ${formatPrice(target.close)} by ${formatMarketDate(target.date, false)}`)
  return parts.join('; ')
}

// The forecast, drawn as soon as it is here; the analyst's parts (stance, confidence, news,
// report) fill in when the report comes.
export function AnalysisView({ ticker, prediction: p }: { ticker: string, prediction: Prediction }) {
  const [horizon, setHorizon] = useState<ChartHorizon>(21)

  return (
    <div className="space-y-4">
      <DataAsOf prediction={p} />
      <HorizonPicker value={horizon} onChange={setHorizon} />
      <KpiRow ticker={ticker} prediction={p} horizon={horizon} />
      <Disclaimer />
      <Card title={`${ticker}: price and forecast`}>
        <Suspense fallback={<Loading>Loading the chart…</Loading>}>
          <ForecastChart prediction={p} horizon={horizon} label={chartLabel(ticker, p, horizon)} />
        </Suspense>
        <div className="mt-3"><ForecastTable prediction={p} /></div>
        <p className="mt-2 text-xs text-muted">Model version {p.model_version}</p>
      </Card>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="How good has this model been?">
          <Accuracy evaluation={p.evaluation} horizon={horizon} summary={p.summary} />
        </Card>
        <Card title="News">
          <News ticker={ticker} />
        </Card>
      </div>
      <Card title="The analyst's report">
        <Report ticker={ticker} />
      </Card>
    </div>
  )
}
