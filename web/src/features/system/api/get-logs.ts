import { queryOptions, useQuery } from '@tanstack/react-query'
import { api } from '../../../lib/api-client'

export type Logs = { logs: string, filename: string, lines?: number }

export function getLogs(lines: number, signal?: AbortSignal): Promise<Logs> {
  return api<Logs>(`/system/logs?lines=${lines}`, { signal })
}

export function logsQueryOptions(lines: number) {
  return queryOptions({ queryKey: ['logs', lines], queryFn: ({ signal }) => getLogs(lines, signal) })
}

export function useLogs(lines: number, follow: boolean) {
  return useQuery({ ...logsQueryOptions(lines), refetchInterval: follow ? 3000 : false })
}
