import { describe, expect, it } from 'vitest'
import { analysis } from '../../../testing/fixtures'
import { ApiError } from '../../../lib/api-client'
import { applyEvent, noProgress, readAnalysis, SseParser, type SseEvent, type StreamProgress } from './analysis-stream'

// A Response whose body is pieces, each sent as it is (split anywhere, as a network splits it).
function streamed(pieces: string[], type = 'text/event-stream'): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of pieces) c.enqueue(new TextEncoder().encode(p))
      c.close()
    },
  })
  return new Response(body, { headers: { 'Content-Type': type } })
}

describe('SseParser', () => {
  it('reads events whatever the pieces the text comes in', () => {
    const text = 'event: stage\ndata: {"stage":"forecast","elapsed_ms":0}\n\n: keep-alive\n\nevent: token\ndata: {"text":"a"}\n\n'
    const want: SseEvent[] = [
      { event: 'stage', data: '{"stage":"forecast","elapsed_ms":0}' },
      { event: 'token', data: '{"text":"a"}' },
    ]
    for (let size = 1; size <= text.length; size++) {
      const p = new SseParser()
      const got: SseEvent[] = []
      for (let i = 0; i < text.length; i += size) got.push(...p.push(text.slice(i, i + size)))
      expect(got, `pieces of ${size}`).toEqual(want)
    }
  })

  it('takes CRLF and CR line ends, joins data lines, and names an unnamed event message', () => {
    const p = new SseParser()
    expect(p.push('event: field\r\ndata: one\r\ndata: two\r\n\r')).toEqual([])
    expect(p.push('\ndata:three\r\rnot-a-field\n\n')).toEqual([
      { event: 'field', data: 'one\ntwo' },
      { event: 'message', data: 'three' },
    ])
  })

  it('dispatches nothing for a comment or an event without data', () => {
    expect(new SseParser().push(': keep-alive\n\nevent: stage\n\n')).toEqual([])
  })
})

describe('applyEvent', () => {
  const ev = (event: string, data: object): SseEvent => ({ event, data: JSON.stringify(data) })

  it('lists the stages, joins each node\'s draft, keeps the checked fields', () => {
    let p: StreamProgress = noProgress
    for (const e of [
      ev('stage', { stage: 'agent', elapsed_ms: 40 }),
      ev('token', { node: 'performance_analyst', text: 'The ', provisional: true }),
      ev('token', { node: 'performance_analyst', text: 'model', provisional: true }),
      ev('field', { field: 'data', text: '### From the data', provisional: false }),
      ev('token', { node: 'writer', text: '{"stance"', provisional: true }),
      ev('field', { field: 'stance', text: 'BEARISH', provisional: false }),
    ]) p = applyEvent(p, e)
    expect(p.stages).toEqual([{ stage: 'agent', elapsedMs: 40 }])
    expect(p.drafts).toEqual([{ node: 'performance_analyst', text: 'The model' }, { node: 'writer', text: '{"stance"' }])
    expect(p.fields).toEqual({ data: '### From the data', stance: 'BEARISH' })
    expect(noProgress).toEqual({ stages: [], drafts: [], fields: {} }) // never changed in place
  })
})

describe('readAnalysis', () => {
  const report = analysis()

  it('answers the report event, after showing the progress of each other event', async () => {
    const seen: StreamProgress[] = []
    const got = await readAnalysis(streamed([
      'event: stage\ndata: {"stage":"forecast","elapsed_ms":1}\n\nevent: stage\ndata: {"stage":"ag',
      'ent","elapsed_ms":9}\n\nevent: report\ndata: ', JSON.stringify(report), '\n\n',
    ]), (p) => seen.push(p))
    expect(got).toEqual(report)
    expect(seen.map((p) => p.stages.length)).toEqual([1, 2])
  })

  it('answers a training, and throws an error event as an ApiError', async () => {
    const training = { status: 'training', detail: 'training', ticker: 'MSFT', task_id: 'msft' }
    expect(await readAnalysis(streamed([`event: training\ndata: ${JSON.stringify(training)}\n\n`]), () => {})).toEqual(training)
    const failed = readAnalysis(streamed(['event: error\ndata: {"detail":"the analyst is busy","status":503}\n\n']), () => {})
    await expect(failed).rejects.toEqual(new ApiError(503, 'the analyst is busy'))
  })

  it('fails a stream that ends before its last event', async () => {
    await expect(readAnalysis(streamed(['event: stage\ndata: {"stage":"forecast"}\n\n']), () => {})).rejects.toHaveProperty('status', 0)
  })

  it('reads a JSON answer as the plain call does', async () => {
    expect(await readAnalysis(streamed([JSON.stringify(report)], 'application/json'), () => {})).toEqual(report)
  })
})
