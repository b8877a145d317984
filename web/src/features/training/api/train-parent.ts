import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { TrainAnswer, TrainParams } from '../../../types/api'
import { tasksQueryOptions } from './get-tasks'

export function trainParent(params: TrainParams): Promise<TrainAnswer> {
  return data(api.POST('/train-parent', { body: params }))
}

export function useTrainParent() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: trainParent,
    onSuccess: () => void client.invalidateQueries({ queryKey: tasksQueryOptions().queryKey }),
  })
}
