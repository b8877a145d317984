import { queryOptions, useQuery } from '@tanstack/react-query'
import { api } from '../../../lib/api-client'

export type TickerList = {
  tickers: { symbol: string, first_date: string, last_date: string, rows: number, source?: string }[]
  data_source?: string
}

export function getTickers(signal?: AbortSignal): Promise<TickerList> {
  return api<TickerList>('/tickers', { signal })
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
