import { QueryClient } from '@tanstack/react-query'
import { ApiError } from './api-client'

// Query defaults, set once. A 4xx answer would come back the same, and a 503 names a part
// that is down, so neither is retried by itself: the user sees the detail and decides.
// Network failures and other 5xx get two more tries, waiting as long as Retry-After says.
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status !== 0 && (error.status < 500 || error.status === 503)) {
    return false
  }
  return failureCount < 2
}

export function retryDelay(attempt: number, error: unknown): number {
  if (error instanceof ApiError && error.retryAfter !== undefined) return error.retryAfter * 1000
  return Math.min(1000 * 2 ** attempt, 8000)
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: shouldRetry, retryDelay, staleTime: 10_000, refetchOnWindowFocus: false },
      mutations: { retry: false },
    },
  })
}
