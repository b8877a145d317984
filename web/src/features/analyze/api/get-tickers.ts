import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { TickerList } from '../../../types/api'

export function getTickers(signal?: AbortSignal): Promise<TickerList> {
  return data(api.GET('/tickers', { signal }))
}

// What can be forecast from data on the server; it changes only with the server's files.
export function tickersQueryOptions() {
  return queryOptions({
    queryKey: ['tickers'],
    queryFn: ({ signal }) => getTickers(signal),
    staleTime: 60 * 60_000,
  })
}

export function useTickers() {
  return useQuery(tickersQueryOptions())
}
