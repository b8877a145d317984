// The tickers this browser analyzed last, newest first.

const slot = 'stockagent.recentTickers'
const keep = 6

export function recentTickers(): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(slot) ?? '[]')
    return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string').slice(0, keep) : []
  } catch {
    return []
  }
}

export function rememberTicker(ticker: string): string[] {
  const list = [ticker, ...recentTickers().filter((t) => t !== ticker)].slice(0, keep)
  localStorage.setItem(slot, JSON.stringify(list))
  return list
}
