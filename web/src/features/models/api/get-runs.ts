import { queryOptions, useQuery } from '@tanstack/react-query'
import { api } from '../../../lib/api-client'
import type { Run } from '../../../types/api'

export type RunList = { ticker: string, runs: Run[] }

export function getRuns(ticker: string, signal?: AbortSignal): Promise<RunList> {
  return api<RunList>(`/models/${encodeURIComponent(ticker)}/runs`, { signal })
}

export function runsQueryOptions(ticker: string) {
  return queryOptions({ queryKey: ['runs', ticker], queryFn: ({ signal }) => getRuns(ticker, signal) })
}

// Fetched only once the list is opened.
export function useRuns(ticker: string, enabled: boolean) {
  return useQuery({ ...runsQueryOptions(ticker), enabled })
}
