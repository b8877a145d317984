import { lazy, Suspense, useState } from 'react'
import { Card } from '../../../components/card'
import { Disclaimer } from '../../../components/disclaimer'
import { Loading } from '../../../components/loading'
import { formatMarketDate, formatMoment, formatPrice } from '../../../lib/format'
import type { Analysis } from '../../../types/api'
import { Accuracy } from './accuracy'
import { forecastRows, type ChartHorizon } from './chart-data'
import { DataAsOf } from './data-as-of'
import { ForecastTable } from './forecast-table'
import { HorizonPicker } from './horizon-picker'
import { KpiRow, lastPrice } from './kpi-row'
import { News } from './news'

// The chart library and the markdown renderer load in parallel with the rest, not before it.
const ForecastChart = lazy(() => import('./forecast-chart'))
const ReportMarkdown = lazy(() => import('./report-markdown'))

function chartLabel(a: Analysis, h: ChartHorizon): string {
  const last = lastPrice(a)
  const target = forecastRows(a.predictions, h).at(-1)
  const parts = [`Chart of ${a.ticker}'s closing prices for the last ${a.predictions.history.length} trading days`]
  if (last !== undefined) parts.push(`last close ${formatPrice(last)} on ${formatMarketDate(a.predictions.data_as_of, false)}`)
  if (target) parts.push(`forecast ${formatPrice(target.close)} by ${formatMarketDate(target.date, false)}`)
  return parts.join('; ')
}

export function AnalysisView({ analysis }: { analysis: Analysis }) {
  const [horizon, setHorizon] = useState<ChartHorizon>(21)
  const p = analysis.predictions
  const fallback = analysis.parse_status && analysis.parse_status !== 'parsed'

  return (
    <div className="space-y-4">
      <DataAsOf prediction={p} />
      <HorizonPicker value={horizon} onChange={setHorizon} />
      <KpiRow analysis={analysis} horizon={horizon} />
      <Disclaimer />
      <Card title={`${analysis.ticker}: price and forecast`}>
        <Suspense fallback={<Loading>Loading the chart…</Loading>}>
          <ForecastChart prediction={p} horizon={horizon} label={chartLabel(analysis, horizon)} />
        </Suspense>
        <div className="mt-3"><ForecastTable prediction={p} /></div>
        <p className="mt-2 text-xs text-muted">Model version {p.model_version}</p>
      </Card>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="How good has this model been?">
          <Accuracy evaluation={p.evaluation} horizon={horizon} />
        </Card>
        <Card title="News">
          <News analysis={analysis} />
        </Card>
      </div>
      <Card title="The analyst's report">
        <Suspense fallback={<Loading>Loading the report…</Loading>}>
          <ReportMarkdown text={analysis.final_report} />
        </Suspense>
        <div className="mt-4 space-y-1 border-t border-line pt-3 text-xs text-muted">
          <p>
            Written by {analysis.llm?.model ?? 'a language model'}
            {analysis.created_at && <> on {formatMoment(analysis.created_at)}</>}
            {analysis.cached && ' (from the cache of recent reports on the same forecast and news)'}.
          </p>
          {fallback && <p>The stance and confidence were read by a fallback: {analysis.parse_status}.</p>}
          {analysis.flags && analysis.flags.length > 0 && <p>Flags: {analysis.flags.join('; ')}</p>}
        </div>
      </Card>
    </div>
  )
}
