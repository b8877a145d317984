import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { Health } from '../../../types/api'

export function getHealth(signal?: AbortSignal): Promise<Health> {
  return data(api.GET('/health', { signal }))
}

export function healthQueryOptions() {
  return queryOptions({ queryKey: ['health'], queryFn: ({ signal }) => getHealth(signal), refetchInterval: 15_000 })
}

export function useHealth() {
  return useQuery(healthQueryOptions())
}
