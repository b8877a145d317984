import { formatMarketDate, formatPrice } from '../../../lib/format'
import type { Prediction } from '../../../types/api'
import { horizons } from './chart-data'

// The chart's numbers as a table: what a screen reader reads, and what anyone can copy.
export function ForecastTable({ prediction }: { prediction: Prediction }) {
  const rows = horizons.map((h) => ({ h, row: prediction.predictions.full_forecast[h - 1] }))
  return (
    <details className="text-sm">
      <summary className="cursor-pointer text-accent">Forecast as a table</summary>
      <div className="overflow-x-auto">
        <table className="mt-2 w-full text-left tabular-nums">
          <caption className="sr-only">Forecast closing price by horizon, with the 80% range</caption>
          <thead className="text-muted">
            <tr>
              <th scope="col" className="pr-4 font-medium">Trading days ahead</th>
              <th scope="col" className="pr-4 font-medium">Date</th>
              <th scope="col" className="pr-4 font-medium">Close</th>
              <th scope="col" className="font-medium">80% range</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ h, row }) => row && (
              <tr key={h}>
                <th scope="row" className="pr-4 font-normal">{h}</th>
                <td className="pr-4">{formatMarketDate(row.date, false)}</td>
                <td className="pr-4">{formatPrice(row.close)}</td>
                <td>{row.close_low !== undefined && row.close_high !== undefined ? `${formatPrice(row.close_low)}–${formatPrice(row.close_high)}` : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  )
}
