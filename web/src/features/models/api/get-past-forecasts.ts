import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { PastForecasts } from '../../../types/api'

export function getPastForecasts(ticker: string, signal?: AbortSignal): Promise<PastForecasts> {
  return data(api.GET('/models/{ticker}/past-forecasts', { params: { path: { ticker } }, signal }))
}

export function pastForecastsQueryOptions(ticker: string) {
  return queryOptions({ queryKey: ['past-forecasts', ticker], queryFn: ({ signal }) => getPastForecasts(ticker, signal) })
}

export function usePastForecasts(ticker: string) {
  return useQuery(pastForecastsQueryOptions(ticker))
}
