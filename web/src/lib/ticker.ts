// The API's ticker rule (docs/api.md, "Tickers"), checked in forms so that no request carries a
// ticker the server would refuse.

export type TickerCheck = { ok: true, ticker: string } | { ok: false, reason: string }

const allowed = /^[A-Z0-9.\-^=]+$/

export function checkTicker(input: string): TickerCheck {
  const ticker = input.trim().toUpperCase()
  if (ticker === '') return { ok: false, reason: 'Enter a ticker symbol, such as AAPL.' }
  if (ticker.length > 12) return { ok: false, reason: 'A ticker has at most 12 characters.' }
  if (!allowed.test(ticker)) {
    return { ok: false, reason: 'Use only letters, digits and . - ^ = (for example BRK-B or ^GSPC).' }
  }
  if (!/[A-Z0-9]/.test(ticker)) return { ok: false, reason: 'A ticker needs at least one letter or digit.' }
  if (ticker.startsWith('.')) return { ok: false, reason: 'A ticker cannot start with a dot.' }
  if (ticker.includes('..')) return { ok: false, reason: 'A ticker cannot contain two dots in a row.' }
  if (ticker === 'PARENT') return { ok: false, reason: 'PARENT is reserved for the market model.' }
  return { ok: true, ticker }
}
