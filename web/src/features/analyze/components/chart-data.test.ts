import { describe, expect, it } from 'vitest'
import { prediction } from '../../../testing/fixtures'
import { toChartData } from './chart-data'

describe('toChartData', () => {
  it('draws the chosen horizon, joined to the last close', () => {
    const p = prediction()
    const d = toChartData(p, 21)
    expect(d.history).toHaveLength(3)
    expect(d.forecast).toHaveLength(22)
    expect(d.forecast[0]).toEqual({ time: '2024-12-31', value: 416.56 })
    expect(d.forecast.at(-1)?.time).toBe(p.predictions.full_forecast[20]!.date)
    expect(d.band).toHaveLength(22)
    expect(d.band[0]).toEqual({ time: '2024-12-31', low: 416.56, high: 416.56 })
    const end = p.predictions.full_forecast[20]!
    expect(d.band.at(-1)).toEqual({ time: end.date, low: end.close_low, high: end.close_high })
  })

  it('draws no band when the model gives no interval', () => {
    const p = prediction()
    p.predictions.full_forecast = p.predictions.full_forecast.map(({ close_low: _l, close_high: _h, ...row }) => row)
    expect(toChartData(p, 5).band).toEqual([])
    expect(toChartData(p, 5).forecast).toHaveLength(6)
  })
})
