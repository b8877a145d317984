import { useState } from 'react'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { formatMarketDate, formatPrice } from '../../../lib/format'
import { useCache } from '../api/get-cache'
import { useCacheEntry } from '../api/get-cache-entry'

// GET /system/cache: which forecasts are cached, and what each says.
export function CachePanel() {
  const { data, error, isPending, refetch } = useCache()
  if (isPending) return <Loading>Loading the cache…</Loading>
  if (error) return <ErrorView error={error} onRetry={() => void refetch()} />
  if (data.count === 0) return <p className="text-muted">No cached forecasts.</p>
  return (
    <ul className="space-y-2">
      {data.cached_tickers.map((t) => <CacheRow key={t} ticker={t} />)}
    </ul>
  )
}

function CacheRow({ ticker }: { ticker: string }) {
  const [open, setOpen] = useState(false)
  const { data, error, isPending } = useCacheEntry(ticker, open)
  const p = data?.prediction
  const month = p?.predictions.month.at(-1)
  return (
    <li>
      <details onToggle={(e) => setOpen(e.currentTarget.open)} className="rounded-lg border border-line p-2 text-sm">
        <summary className="cursor-pointer font-mono">{ticker}</summary>
        {open && (isPending ? <Loading /> : error ? <ErrorView error={error} /> : p && (
          <p className="mt-1 text-muted">
            Model {p.model_version}; prices up to {formatMarketDate(p.data_as_of, false)}
            {month && `; 21-day forecast ${formatPrice(month.close)} by ${formatMarketDate(month.date, false)}`}.
          </p>
        ))}
      </details>
    </li>
  )
}
