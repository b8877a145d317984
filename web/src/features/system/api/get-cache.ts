import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { CacheList } from '../../../types/api'

export function getCache(signal?: AbortSignal): Promise<CacheList> {
  // Without a ticker the answer is the list, one of the two the document allows.
  return data(api.GET('/system/cache', { signal })) as Promise<CacheList>
}

export function cacheQueryOptions() {
  return queryOptions({ queryKey: ['cache'], queryFn: ({ signal }) => getCache(signal) })
}

export function useCache() {
  return useQuery(cacheQueryOptions())
}
