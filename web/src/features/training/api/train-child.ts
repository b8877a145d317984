import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api } from '../../../lib/api-client'
import type { TrainAnswer } from '../../../types/api'
import { tasksQueryOptions } from './get-tasks'
import type { TrainParams } from './train-parent'

export function trainChild(params: TrainParams & { ticker: string }): Promise<TrainAnswer> {
  return api<TrainAnswer>('/train-child', { method: 'POST', body: params })
}

export function useTrainChild() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: trainChild,
    onSuccess: () => void client.invalidateQueries({ queryKey: tasksQueryOptions().queryKey }),
  })
}
