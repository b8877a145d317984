import { ChartEmpty, ChartFigure } from '../../../components/charts/chart-figure'
import { Legend, LineChart, type Point } from '../../../components/charts/line-chart'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { ApiError } from '../../../lib/api-client'
import { formatMarketDate, formatPrice } from '../../../lib/format'
import { usePastForecasts } from '../api/get-past-forecasts'

// Forecasts the serving version made at its evaluation's held-out cut-offs, each with its 80%
// band, drawn over the closes that followed. x is the trading day's place in the test period, so
// weekends and holidays leave no gaps.
export function PastForecastsChart({ ticker }: { ticker: string }) {
  const { data, error, isPending, refetch } = usePastForecasts(ticker)
  if (isPending) return <Loading>Loading past forecasts…</Loading>
  if (error instanceof ApiError && error.status === 404) return <ChartEmpty>There are no past forecasts to compare: {error.detail}</ChartEmpty>
  if (error) return <ErrorView error={error} onRetry={() => void refetch()} />
  if (data.forecasts.length === 0 || data.closes.length === 0) return <ChartEmpty>The evaluation kept no held-out cut-offs to look back on.</ChartEmpty>

  const place = new Map(data.closes.map((c, i) => [c.date, i]))
  const at = (date: string) => place.get(date)
  const onAxis = <T,>(rows: T[], date: (r: T) => string, y: (r: T) => number): Point[] =>
    rows.flatMap((r) => { const x = at(date(r)); return x === undefined ? [] : [{ x, y: y(r) }] })
  const series = [
    { name: 'actual', points: onAxis(data.closes, (c) => c.date, (c) => c.close), stroke: 'stroke-fg', dot: 'fill-fg' },
    ...data.forecasts.map((f) => ({
      name: `forecast from ${f.cutoff}`,
      points: onAxis([{ date: f.cutoff, close: f.last_close }, ...f.path], (r) => r.date, (r) => r.close),
      stroke: 'stroke-forecast', dot: 'fill-forecast', dashed: true,
    })),
  ]
  const bands = data.forecasts.map((f) => ({
    name: `band from ${f.cutoff}`,
    lower: onAxis(f.path, (r) => r.date, (r) => r.close_low),
    upper: onAxis(f.path, (r) => r.date, (r) => r.close_high),
    fill: 'fill-forecast/15',
  }))
  const marks = data.forecasts.flatMap((f) => onAxis([f], (r) => r.cutoff, (r) => r.last_close).map((p) => ({ ...p, label: `forecast made on ${f.cutoff}`, fill: 'fill-forecast' })))
  const rows = data.forecasts.map((f) => {
    const end = f.path.at(-1)
    const inside = f.path.filter((r) => r.actual >= r.close_low && r.actual <= r.close_high).length
    return { f, end, inside }
  })
  const inside = rows.reduce((n, r) => n + r.inside, 0)
  const days = rows.reduce((n, r) => n + r.f.path.length, 0)
  const label = (x: number) => { const c = data.closes[Math.round(x)]; return c ? formatMarketDate(c.date, false) : '' }
  return (
    <ChartFigure
      title={`Past forecasts against what followed, version ${data.model_version}`}
      testId="past-forecasts-chart"
      summary={`${data.forecasts.length} forecasts made on held-out dates from ${formatMarketDate(data.test_period.from, false)} to ${formatMarketDate(data.test_period.to, false)}; the real close stayed inside the 80% band on ${inside} of ${days} days.`}
      table={{
        head: ['Made on', 'Close then', `Forecast ${rows[0]?.f.path.length ?? 63} days on`, 'Real close then', 'Days inside the band'],
        rows: rows.map(({ f, end, inside: n }) => [formatMarketDate(f.cutoff, false), formatPrice(f.last_close), end ? formatPrice(end.close) : '–', end ? formatPrice(end.actual) : '–', `${n} of ${f.path.length}`]),
      }}
    >
      <LineChart xLabel="Trading day" yLabel="Close" formatX={label} formatY={formatPrice} series={series} bands={bands} marks={marks} />
      <Legend items={[{ name: 'Real close', className: 'stroke-fg' }, { name: 'Forecast from a held-out date, with its 80% band', className: 'stroke-forecast', dashed: true }]} />
    </ChartFigure>
  )
}
