import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { BacktestList, BacktestRequest, BacktestStarted, BacktestTask } from '../../../types/api'

export function startBacktest(body: BacktestRequest): Promise<BacktestStarted> {
  return data(api.POST('/backtest', { body }))
}

export function getBacktests(ticker: string, signal?: AbortSignal): Promise<BacktestList> {
  return data(api.GET('/models/{ticker}/backtests', { params: { path: { ticker } }, signal }))
}

export function backtestsQueryOptions(ticker: string) {
  return queryOptions({ queryKey: ['backtests', ticker], queryFn: ({ signal }) => getBacktests(ticker, signal) })
}

export function useBacktests(ticker: string) {
  return useQuery(backtestsQueryOptions(ticker))
}

export function useStartBacktest() {
  return useMutation({ mutationFn: startBacktest })
}

// A backtest's task, polled while it is queued or running; a finished one refreshes the
// model's stored results once.
export function useBacktestTask(ticker: string, taskId: string) {
  const client = useQueryClient()
  return useQuery({
    queryKey: ['backtest-task', taskId],
    queryFn: async ({ signal }) => {
      const task = await (data(api.GET('/status/{task_id}', { params: { path: { task_id: taskId } }, signal })) as Promise<BacktestTask>)
      if (task.status === 'completed') void client.invalidateQueries({ queryKey: backtestsQueryOptions(ticker).queryKey })
      return task
    },
    refetchInterval: (query) => {
      const status = query.state.data?.status
      return status === 'running' ? 500 : status === 'queued' ? 1000 : false
    },
    staleTime: 0,
  })
}
