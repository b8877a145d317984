import { describe, expect, it } from 'vitest'
import { parseEnv } from './env'

describe('parseEnv', () => {
  it('defaults to the page’s own origin', () => {
    expect(parseEnv({})).toEqual({ apiBaseUrl: '' })
    expect(parseEnv({ VITE_API_BASE_URL: '' })).toEqual({ apiBaseUrl: '' })
  })

  it('takes an http(s) base URL without its trailing slash', () => {
    expect(parseEnv({ VITE_API_BASE_URL: 'http://localhost:8000/' })).toEqual({ apiBaseUrl: 'http://localhost:8000' })
  })

  it('lists what is wrong', () => {
    expect(() => parseEnv({ VITE_API_BASE_URL: 'localhost:8000' })).toThrow(/VITE_API_BASE_URL must be an http\(s\) URL/)
  })
})
