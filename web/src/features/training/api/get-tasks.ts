import { queryOptions, useQuery } from '@tanstack/react-query'
import { api } from '../../../lib/api-client'
import type { TaskRecord } from '../../../types/api'

export type TaskList = { tasks: TaskRecord[], count: number }

export function getTasks(signal?: AbortSignal): Promise<TaskList> {
  return api<TaskList>('/tasks', { signal })
}

export function tasksQueryOptions() {
  return queryOptions({
    queryKey: ['tasks'],
    queryFn: ({ signal }) => getTasks(signal),
    // Quick while something runs, so statuses and epochs move; slow otherwise.
    refetchInterval: (query) =>
      query.state.data?.tasks.some((t) => t.status === 'running' || t.status === 'queued') ? 1500 : 15_000,
  })
}

export function useTasks() {
  return useQuery(tasksQueryOptions())
}
