import { queryOptions, useQuery } from '@tanstack/react-query'
import { api, data } from '../../../lib/api-client'
import type { AgentEval, DriftReport } from '../../../types/api'

// How far back the history charts reach: the newest checks, a year, or all that is stored (the
// server keeps MONITOR_HISTORY_KEEP of each kind, 500 by default).
export type HistoryRange = 'latest' | 'year' | 'all'
export const historyRanges: { value: HistoryRange, label: string }[] = [
  { value: 'latest', label: 'Newest 100' },
  { value: 'year', label: 'Last year' },
  { value: 'all', label: 'All stored' },
]
export const newestPage = 100
const page = 500 // the API's largest
// A bound however much is stored: at most this many pages of each kind.
export const maxPages = 20

export type HistoryRecords = {
  drift: DriftReport[]
  evals: AgentEval[]
  // More records lie in the range than maxPages pages hold.
  truncated: boolean
}

const evalTime = (e: AgentEval) => Date.parse(e.metrics.timestamp)

// One model's drift reports and evaluations over range, newest first: page after page (each
// page's next_cursor asks for the next, which repeats and skips nothing) until the range is
// covered, the history ends, or maxPages pages are read.
export async function getHistory(ticker: string, range: HistoryRange, signal?: AbortSignal, now = Date.now()): Promise<HistoryRecords> {
  const since = range === 'year' ? now - 365 * 86_400_000 : -Infinity
  const out: HistoryRecords = { drift: [], evals: [], truncated: false }
  let cursor: string | undefined
  for (let n = 0; ; n++) {
    if (n === maxPages) {
      out.truncated = true
      break
    }
    const p = await data(api.GET('/monitor/{ticker}/history', {
      params: { path: { ticker }, query: { limit: range === 'latest' ? newestPage : page, cursor } }, signal,
    }))
    out.drift.push(...p.drift)
    out.evals.push(...p.evals)
    // A page covers one span of time for both kinds: once it reaches past since, the range is read.
    const oldest = Math.min(...p.drift.map((r) => Date.parse(r.timestamp)), ...p.evals.map(evalTime))
    if (p.next_cursor === null || range === 'latest' || oldest < since) break
    cursor = p.next_cursor
  }
  if (range === 'year') {
    out.drift = out.drift.filter((r) => !(Date.parse(r.timestamp) < since))
    out.evals = out.evals.filter((e) => !(evalTime(e) < since))
  }
  return out
}

// The key of every range of one model's history, to refresh them all after a check.
export const historyKey = (ticker: string) => ['monitor-history', ticker]

export function historyQueryOptions(ticker: string, range: HistoryRange) {
  return queryOptions({ queryKey: [...historyKey(ticker), range], queryFn: ({ signal }) => getHistory(ticker, range, signal) })
}

export function useHistory(ticker: string, range: HistoryRange = 'latest') {
  return useQuery(historyQueryOptions(ticker, range))
}
