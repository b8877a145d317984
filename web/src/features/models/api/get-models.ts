import { queryOptions, useQuery } from '@tanstack/react-query'
import { api } from '../../../lib/api-client'
import type { ModelSummary } from '../../../types/api'

export type ModelList = { models: ModelSummary[] }

export function getModels(signal?: AbortSignal): Promise<ModelList> {
  return api<ModelList>('/models', { signal })
}

export function modelsQueryOptions() {
  return queryOptions({ queryKey: ['models'], queryFn: ({ signal }) => getModels(signal) })
}

export function useModels() {
  return useQuery(modelsQueryOptions())
}
