import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { MonitorAnswer } from '../../../types/api'
import { driftQueryOptions } from './get-drift'
import { evalQueryOptions } from './get-eval'
import { historyKey } from './get-history'

// POST /monitor/{ticker}: drift now, and the evaluation of the analyst's latest report.
export function runMonitor(ticker: string): Promise<MonitorAnswer> {
  return data(api.POST('/monitor/{ticker}', { params: { path: { ticker } } })) as Promise<MonitorAnswer>
}

export function useRunMonitor() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: runMonitor,
    onSuccess: (answer, ticker) => {
      client.setQueryData(driftQueryOptions(ticker).queryKey, answer.drift)
      void client.invalidateQueries({ queryKey: evalQueryOptions(ticker).queryKey })
      void client.invalidateQueries({ queryKey: historyKey(ticker) })
    },
  })
}
