import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { CacheEntry } from '../../../types/api'

export function getCacheEntry(ticker: string, signal?: AbortSignal): Promise<CacheEntry> {
  // With a ticker the answer is that ticker's entry, one of the two the document allows.
  return data(api.GET('/system/cache', { params: { query: { ticker } }, signal })) as Promise<CacheEntry>
}

export function cacheEntryQueryOptions(ticker: string) {
  return queryOptions({ queryKey: ['cache', ticker], queryFn: ({ signal }) => getCacheEntry(ticker, signal) })
}

// Fetched only once its row is opened.
export function useCacheEntry(ticker: string, enabled: boolean) {
  return useQuery({ ...cacheEntryQueryOptions(ticker), enabled })
}
