import { queryOptions, useQuery } from '@tanstack/react-query'
import { api } from '../../../lib/api-client'

export type CacheList = { cached_tickers: string[], count: number }

export function getCache(signal?: AbortSignal): Promise<CacheList> {
  return api<CacheList>('/system/cache', { signal })
}

export function cacheQueryOptions() {
  return queryOptions({ queryKey: ['cache'], queryFn: ({ signal }) => getCache(signal) })
}

export function useCache() {
  return useQuery(cacheQueryOptions())
}
