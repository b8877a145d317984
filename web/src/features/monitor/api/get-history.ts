import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { MonitorHistory } from '../../../types/api'

// The newest page is what the chart draws: a hundred checks span months at one a day.
export const historyPage = 100

export function getHistory(ticker: string, signal?: AbortSignal): Promise<MonitorHistory> {
  return data(api.GET('/monitor/{ticker}/history', { params: { path: { ticker }, query: { limit: historyPage } }, signal }))
}

export function historyQueryOptions(ticker: string) {
  return queryOptions({ queryKey: ['monitor-history', ticker], queryFn: ({ signal }) => getHistory(ticker, signal) })
}

export function useHistory(ticker: string) {
  return useQuery(historyQueryOptions(ticker))
}
