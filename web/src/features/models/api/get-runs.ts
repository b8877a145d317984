import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { RunList } from '../../../types/api'

export function getRuns(ticker: string, signal?: AbortSignal): Promise<RunList> {
  return data(api.GET('/models/{ticker}/runs', { params: { path: { ticker } }, signal })) as Promise<RunList>
}

export function runsQueryOptions(ticker: string) {
  return queryOptions({ queryKey: ['runs', ticker], queryFn: ({ signal }) => getRuns(ticker, signal) })
}

// Fetched only once the list is opened.
export function useRuns(ticker: string, enabled: boolean) {
  return useQuery({ ...runsQueryOptions(ticker), enabled })
}
