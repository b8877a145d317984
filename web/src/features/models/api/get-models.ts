import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { ModelList } from '../../../types/api'

export function getModels(signal?: AbortSignal): Promise<ModelList> {
  return data(api.GET('/models', { signal }))
}

export function modelsQueryOptions() {
  return queryOptions({ queryKey: ['models'], queryFn: ({ signal }) => getModels(signal) })
}

export function useModels() {
  return useQuery(modelsQueryOptions())
}
