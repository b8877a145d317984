import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { CancelAnswer } from '../../../types/api'
import { taskQueryOptions } from './get-task'
import { tasksQueryOptions } from './get-tasks'

export function cancelTask(taskId: string): Promise<CancelAnswer> {
  return data(api.DELETE('/tasks/{task_id}', { params: { path: { task_id: taskId } } })) as Promise<CancelAnswer>
}

export function useCancelTask() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: cancelTask,
    onSuccess: (_answer, taskId) => {
      void client.invalidateQueries({ queryKey: tasksQueryOptions().queryKey })
      void client.invalidateQueries({ queryKey: taskQueryOptions(taskId).queryKey })
    },
  })
}
