import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api } from '../../../lib/api-client'
import type { TrainAnswer } from '../../../types/api'
import { tasksQueryOptions } from './get-tasks'

// Optional hyper-parameters (docs/api.md, "Training"); left out, the server's defaults apply.
export type TrainParams = { epochs?: number, force?: boolean }

export function trainParent(params: TrainParams): Promise<TrainAnswer> {
  return api<TrainAnswer>('/train-parent', { method: 'POST', body: params })
}

export function useTrainParent() {
  const client = useQueryClient()
  return useMutation({
    mutationFn: trainParent,
    onSuccess: () => void client.invalidateQueries({ queryKey: tasksQueryOptions().queryKey }),
  })
}
