import { queryOptions, useQuery } from '@tanstack/react-query'
import type { Analysis, Prediction, TrainingStarted } from '../../../types/api'
import { streamAnalysis } from './analysis-stream'

// POST /analyze answers the report, or (202) that the model must train first.
export type AnalyzeAnswer = Analysis | TrainingStarted

// The forecast a report rests on, as /predict-child answers it: the answer holds the views
// (next_day … full_forecast) beside the history, as the old service's clients read them.
export function forecastOf(a: Analysis): Prediction {
  const { next_day, week, month, quarter, full_forecast, ...rest } = a.predictions
  return { ...rest, predictions: { next_day, week, month, quarter, full_forecast } }
}

// Streamed (analysis-stream.ts): the page shows the report's making while it waits.
export function analyze(ticker: string, signal?: AbortSignal): Promise<AnalyzeAnswer> {
  return streamAnalysis(ticker, signal)
}

// A read, though a POST: the server caches reports, so the answer is kept for a while too. A
// failed run is not retried by itself: it may have taken a minute, and the user decides. Nor is
// a training answer asked again on a timer: the page asks once more when the training is done.
export function analysisQueryOptions(ticker: string) {
  return queryOptions({
    queryKey: ['analysis', ticker],
    queryFn: ({ signal }) => analyze(ticker, signal),
    staleTime: 10 * 60_000,
    retry: false,
  })
}

export function useAnalysis(ticker: string) {
  return useQuery(analysisQueryOptions(ticker))
}
