import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { TaskRecord, TaskStatus } from '../../../types/api'

export function getTask(taskId: string, signal?: AbortSignal): Promise<TaskRecord> {
  return data(api.GET('/status/{task_id}', { params: { path: { task_id: taskId } }, signal })) as Promise<TaskRecord>
}

// A running task is polled often enough to show each epoch; a queued one waits for another
// task, so less often; a finished one not at all.
function taskPollInterval(status: TaskStatus | undefined): number | false {
  if (status === 'running') return 500
  if (status === 'queued') return 1000
  return false
}

// The key every task's status starts with, to refresh them all at once.
export const taskQueryPrefix = ['task'] as const

export function taskQueryOptions(taskId: string) {
  return queryOptions({
    queryKey: [...taskQueryPrefix, taskId],
    queryFn: ({ signal }) => getTask(taskId, signal),
    refetchInterval: (query) => taskPollInterval(query.state.data?.status),
    staleTime: 0,
  })
}

export function useTask(taskId: string) {
  return useQuery(taskQueryOptions(taskId))
}
