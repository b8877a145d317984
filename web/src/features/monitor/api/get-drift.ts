import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, ApiError, data } from '../../../lib/api-client'
import type { DriftReport } from '../../../types/api'

// null: no drift report yet (the API's 404), which is a state to show, not an error.
export async function getDrift(ticker: string, signal?: AbortSignal): Promise<DriftReport | null> {
  try {
    return await data(api.GET('/monitor/{ticker}/drift', { params: { path: { ticker } }, signal }))
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null
    throw err
  }
}

export function driftQueryOptions(ticker: string) {
  return queryOptions({ queryKey: ['drift', ticker], queryFn: ({ signal }) => getDrift(ticker, signal) })
}

export function useDrift(ticker: string) {
  return useQuery(driftQueryOptions(ticker))
}
