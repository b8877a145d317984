import type { ForecastRow, Prediction } from '../../../types/api'

export const horizons = [5, 21, 63] as const
export type ChartHorizon = (typeof horizons)[number]

export type Point = { time: string, value: number }
export type BandPoint = { time: string, low: number, high: number }

export type ChartData = {
  history: Point[]
  forecast: Point[]
  // Empty when the model gives no interval.
  band: BandPoint[]
}

// The forecast's first `days` rows.
export function forecastRows(p: Prediction, days: ChartHorizon): ForecastRow[] {
  return p.predictions.full_forecast.slice(0, days)
}

// The series the chart draws. The forecast and its band start at the last close, so they join
// the history instead of floating beside it.
export function toChartData(p: Prediction, days: ChartHorizon): ChartData {
  const history = p.history.map((h) => ({ time: h.date, value: h.close }))
  const last = history.at(-1)
  const rows = forecastRows(p, days)
  const forecast = rows.map((r) => ({ time: r.date, value: r.close }))
  const hasBand = rows.length > 0 && rows.every((r) => r.close_low !== undefined && r.close_high !== undefined)
  const band = hasBand ? rows.map((r) => ({ time: r.date, low: r.close_low as number, high: r.close_high as number })) : []
  if (last) {
    forecast.unshift(last)
    if (hasBand) band.unshift({ time: last.time, low: last.value, high: last.value })
  }
  return { history, forecast, band }
}
