import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { TaskList } from '../../../types/api'

export function getTasks(signal?: AbortSignal): Promise<TaskList> {
  return data(api.GET('/tasks', { signal })) as Promise<TaskList>
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
