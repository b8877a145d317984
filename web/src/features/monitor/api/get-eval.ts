import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, ApiError, data } from '../../../lib/api-client'
import type { AgentEval } from '../../../types/api'

// null: no evaluation yet (the API's 404).
export async function getEval(ticker: string, signal?: AbortSignal): Promise<AgentEval | null> {
  try {
    return await data(api.GET('/monitor/{ticker}/eval', { params: { path: { ticker } }, signal }))
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null
    throw err
  }
}

export function evalQueryOptions(ticker: string) {
  return queryOptions({ queryKey: ['eval', ticker], queryFn: ({ signal }) => getEval(ticker, signal) })
}

export function useEval(ticker: string) {
  return useQuery(evalQueryOptions(ticker))
}
