import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { TrainAnswer, TrainChild } from '../../../types/api'
import { tasksQueryOptions } from './get-tasks'

export function trainChild(params: TrainChild): Promise<TrainAnswer> {
  return data(api.POST('/train-child', { body: params }))
}

export function useTrainChild() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: trainChild,
    onSuccess: () => void client.invalidateQueries({ queryKey: tasksQueryOptions().queryKey }),
  })
}
