import { queryOptions, useQuery } from '@tanstack/react-query'
import { api } from '../../../lib/api-client'
import type { Prediction } from '../../../types/api'

export type CacheEntry = { ticker: string, cached: boolean, prediction: Prediction }

export function getCacheEntry(ticker: string, signal?: AbortSignal): Promise<CacheEntry> {
  return api<CacheEntry>(`/system/cache?ticker=${encodeURIComponent(ticker)}`, { signal })
}

export function cacheEntryQueryOptions(ticker: string) {
  return queryOptions({ queryKey: ['cache', ticker], queryFn: ({ signal }) => getCacheEntry(ticker, signal) })
}

// Fetched only once its row is opened.
export function useCacheEntry(ticker: string, enabled: boolean) {
  return useQuery({ ...cacheEntryQueryOptions(ticker), enabled })
}
