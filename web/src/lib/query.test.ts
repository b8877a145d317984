import { describe, expect, it } from 'vitest'
import { ApiError } from './api-client'
import { retryDelay, shouldRetry } from './query'

describe('query defaults', () => {
  it('retries only what may succeed next time', () => {
    expect(shouldRetry(0, new ApiError(0, 'unreachable'))).toBe(true)
    expect(shouldRetry(0, new ApiError(500, 'boom'))).toBe(true)
    expect(shouldRetry(2, new ApiError(500, 'boom'))).toBe(false)
    for (const status of [400, 401, 404, 422, 429, 503]) {
      expect(shouldRetry(0, new ApiError(status, 'no'))).toBe(false)
    }
  })

  it('waits as long as Retry-After says', () => {
    expect(retryDelay(0, new ApiError(500, 'x', 7))).toBe(7000)
    expect(retryDelay(1, new ApiError(500, 'x'))).toBe(2000)
  })
})
