import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { driftHistory, evaluation } from '../../../testing/fixtures'
import { server } from '../../../testing/server'
import type { AgentEval, DriftReport, MonitorHistory } from '../../../types/api'
import { getHistory, maxPages, newestPage } from './get-history'

const day = 86_400_000
const now = Date.parse('2026-12-01T00:00:00Z')
const at = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00')

// A history of n drift reports and n evaluations, one of each a day back from now, served a
// page at a time as the API does: the cursor is the index of the next record, and each request
// is recorded.
function storedHistory(n: number) {
  const drift: DriftReport[] = Array.from({ length: n }, (_, i) => ({ ...driftHistory[0]!, timestamp: at(now - i * day), seq: n - i }))
  const evals: AgentEval[] = Array.from({ length: n }, (_, i) => ({ ...evaluation, seq: n - i, metrics: { ...evaluation.metrics, timestamp: at(now - i * day) } }))
  const asked: { limit: number, cursor: string | null }[] = []
  server.use(http.get('/monitor/:t/history', ({ request }) => {
    const q = new URL(request.url).searchParams
    const limit = Number(q.get('limit'))
    const from = Number(q.get('cursor') ?? 0)
    asked.push({ limit, cursor: q.get('cursor') })
    const to = from + limit
    return HttpResponse.json({ ticker: 'MSFT', drift: drift.slice(from, to), evals: evals.slice(from, to), next_cursor: to < n ? String(to) : null } satisfies MonitorHistory)
  }))
  return { drift, evals, asked }
}

describe('getHistory', () => {
  it('reads every page for all, following next_cursor, each record once', async () => {
    const stored = storedHistory(1200)
    const got = await getHistory('MSFT', 'all', undefined, now)
    expect(stored.asked).toEqual([{ limit: 500, cursor: null }, { limit: 500, cursor: '500' }, { limit: 500, cursor: '1000' }])
    expect(got.drift.map((r) => r.seq)).toEqual(stored.drift.map((r) => r.seq))
    expect(got.evals.map((e) => e.seq)).toEqual(stored.evals.map((e) => e.seq))
    expect(got.truncated).toBe(false)
  })

  it('reads the newest page alone for the newest checks', async () => {
    const stored = storedHistory(1200)
    const got = await getHistory('MSFT', 'latest', undefined, now)
    expect(stored.asked).toEqual([{ limit: newestPage, cursor: null }])
    expect(got.drift).toHaveLength(newestPage)
  })

  it('stops once a page reaches past a year and keeps the year only', async () => {
    const stored = storedHistory(1200)
    const got = await getHistory('MSFT', 'year', undefined, now)
    expect(stored.asked).toHaveLength(1) // 500 days back, on the first page
    expect(got.drift).toHaveLength(366)
    expect(got.evals).toHaveLength(366)
    expect(Date.parse(got.drift.at(-1)!.timestamp)).toBe(now - 365 * day)
  })

  it('reads at most maxPages pages and says so', async () => {
    const stored = storedHistory(500 * maxPages + 1)
    const got = await getHistory('MSFT', 'all', undefined, now)
    expect(stored.asked).toHaveLength(maxPages)
    expect(got.drift).toHaveLength(500 * maxPages)
    expect(got.truncated).toBe(true)
  })
})
