import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { Logs } from '../../../types/api'

export function getLogs(lines: number, signal?: AbortSignal): Promise<Logs> {
  return data(api.GET('/system/logs', { params: { query: { lines } }, signal }))
}

export function logsQueryOptions(lines: number) {
  return queryOptions({ queryKey: ['logs', lines], queryFn: ({ signal }) => getLogs(lines, signal) })
}

export function useLogs(lines: number, follow: boolean) {
  return useQuery({ ...logsQueryOptions(lines), refetchInterval: follow ? 3000 : false })
}
