import { describe, expect, it } from 'vitest'
import { checkTicker } from './ticker'

describe('checkTicker', () => {
  it.each([
    [' aapl ', 'AAPL'],
    ['brk-b', 'BRK-B'],
    ['^gspc', '^GSPC'],
    ['eurusd=x', 'EURUSD=X'],
    ['RDS.A', 'RDS.A'],
    ['ABCDEFGHIJKL', 'ABCDEFGHIJKL'],
  ])('accepts %j as %s', (input, want) => {
    expect(checkTicker(input)).toEqual({ ok: true, ticker: want })
  })

  it.each([
    ['', 'Enter a ticker'],
    ['   ', 'Enter a ticker'],
    ['ABCDEFGHIJKLM', 'at most 12'],
    ['AA PL', 'only letters'],
    ['../../x', 'only letters'],
    ['AAPL/x', 'only letters'],
    ['^-=', 'at least one letter'],
    ['.AAPL', 'start with a dot'],
    ['A..B', 'two dots'],
    ['parent', 'reserved'],
  ])('refuses %j', (input, reason) => {
    const check = checkTicker(input)
    expect(check.ok).toBe(false)
    if (!check.ok) expect(check.reason).toContain(reason)
  })
})
