import { daysSince, formatMarketDate } from '../../../lib/format'
import type { Prediction } from '../../../types/api'

// Beyond a long weekend the newest prices are stale, and the reader should know.
const staleAfterDays = 4

// The date the data runs to, said plainly, so a forecast from old data is not taken for today's.
export function DataAsOf({ prediction }: { prediction: Prediction }) {
  const age = daysSince(prediction.data_as_of)
  const stale = age > staleAfterDays
  const first = prediction.predictions.full_forecast[0]?.date
  return (
    <div
      data-stale={stale}
      className={`rounded-xl border p-3 text-sm ${stale ? 'border-warn bg-warn-bg' : 'border-line bg-surface'}`}
    >
      <p>
        <strong className="font-semibold">Prices up to {formatMarketDate(prediction.data_as_of)}</strong>
        {prediction.data_source && <span className="text-muted"> ({prediction.data_source} data)</span>}
        {first && <>. The forecast starts on {formatMarketDate(first)}.</>}
      </p>
      {stale && (
        <p className="mt-1 font-medium text-warn">
          These prices are {age} days old: this is the forecast as of that date, not from today.
        </p>
      )}
    </div>
  )
}
