import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api } from '../../../lib/api-client'
import type { TaskRecord } from '../../../types/api'
import { taskQueryOptions } from './get-task'
import { tasksQueryOptions } from './get-tasks'

export type CancelAnswer = { status: 'cancelling', task_id: string, detail?: string, task: TaskRecord }

export function cancelTask(taskId: string): Promise<CancelAnswer> {
  return api<CancelAnswer>(`/tasks/${encodeURIComponent(taskId)}`, { method: 'DELETE' })
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
