import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { Prediction, TrainingStarted } from '../../../types/api'

// POST /predict-child answers {"result": forecast}, or (202) that the model must train first.
export type PredictionAnswer = Prediction | TrainingStarted

export async function getPrediction(ticker: string, signal?: AbortSignal): Promise<PredictionAnswer> {
  const answer = await data(api.POST('/predict-child', { body: { ticker }, signal }))
  return 'result' in answer ? answer.result : answer
}

// A read, though a POST. The forecast takes milliseconds where the report takes up to a
// minute, so the page shows it first; it is kept as long as the report it goes with.
export function predictionQueryOptions(ticker: string) {
  return queryOptions({
    queryKey: ['prediction', ticker],
    queryFn: ({ signal }) => getPrediction(ticker, signal),
    staleTime: 10 * 60_000,
  })
}

export function usePrediction(ticker: string) {
  return useQuery(predictionQueryOptions(ticker))
}
