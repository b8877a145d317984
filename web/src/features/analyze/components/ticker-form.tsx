import { useId, useState, type FormEvent } from 'react'
import { Button } from '../../../components/button'
import { checkTicker } from '../../../lib/ticker'
import { useTickers } from '../api/get-tickers'
import { recentTickers } from '../recent-tickers'

// The ticker is checked here against the API's rule, so a bad one never becomes a request.
export function TickerForm({ initial = '', onSubmit }: { initial?: string, onSubmit: (ticker: string) => void }) {
  const [value, setValue] = useState(initial)
  const [problem, setProblem] = useState<string>()
  const tickers = useTickers()
  const recent = recentTickers()
  const ids = { input: useId(), hint: useId(), problem: useId(), list: useId() }

  function submit(e: FormEvent) {
    e.preventDefault()
    const check = checkTicker(value)
    if (!check.ok) {
      setProblem(check.reason)
      return
    }
    setProblem(undefined)
    setValue(check.ticker)
    onSubmit(check.ticker)
  }

  return (
    <form onSubmit={submit} noValidate role="search" aria-label="Analyze a ticker" className="space-y-2">
      <label htmlFor={ids.input} className="block text-sm font-medium">Ticker symbol</label>
      <div className="flex gap-2">
        <input
          id={ids.input}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          list={ids.list}
          placeholder="e.g. AAPL"
          aria-invalid={problem !== undefined}
          aria-describedby={problem ? `${ids.problem} ${ids.hint}` : ids.hint}
          autoCapitalize="characters"
          autoComplete="off"
          spellCheck={false}
          maxLength={24}
          className="min-h-11 w-full max-w-xs rounded-lg border border-line bg-surface px-3 text-lg uppercase placeholder:normal-case aria-[invalid=true]:border-down"
        />
        <Button type="submit" className="min-h-11">Analyze</Button>
      </div>
      <datalist id={ids.list}>
        {tickers.data?.tickers.map((t) => (
          <option key={t.symbol} value={t.symbol}>{`data ${t.first_date} to ${t.last_date}`}</option>
        ))}
      </datalist>
      {problem && <p id={ids.problem} role="alert" className="text-sm font-medium text-down">{problem}</p>}
      <p id={ids.hint} className="text-sm text-muted">
        {tickers.data && tickers.data.tickers.length > 0
          ? `Data on this server: ${tickers.data.tickers.map((t) => t.symbol).join(', ')}.`
          : 'Letters, digits and . - ^ = ; up to 12 characters.'}
      </p>
      {recent.length > 0 && (
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <span className="text-muted">Recent:</span>
          {recent.map((t) => (
            <button
              key={t}
              type="button"
              onClick={() => { setValue(t); setProblem(undefined); onSubmit(t) }}
              className="min-h-9 rounded-full border border-line px-3 font-mono hover:bg-sunken"
            >
              {t}
            </button>
          ))}
        </div>
      )}
    </form>
  )
}
