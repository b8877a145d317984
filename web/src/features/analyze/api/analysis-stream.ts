import { useSyncExternalStore } from 'react'
import { ApiError, postForEvents } from '../../../lib/api-client'
import type { Analysis, TrainingStarted } from '../../../types/api'

// POST /analyze read as server-sent events (docs/api.md, "The analysis stream"): the stages as
// they start, the model's draft as it writes (provisional, never the report), each field once it
// passed its checks, then the report, exactly the JSON answer of the plain call. EventSource
// cannot POST, so the body is read from fetch.

export interface SseEvent {
  event: string
  data: string
}

// Server-sent events from text that arrives in pieces, as the HTML standard parses them: lines
// ended by LF, CRLF or CR, `event:` and `data:` fields (several data lines join with LF),
// comments (`: keep-alive`) skipped, an event dispatched at the blank line that ends it.
export class SseParser {
  private buffer = ''
  private event = ''
  private data: string[] = []

  push(text: string): SseEvent[] {
    this.buffer += text
    const out: SseEvent[] = []
    for (;;) {
      const end = /\r\n|\n|\r/.exec(this.buffer)
      // A CR that ends the text may be the first half of a CRLF: wait for the next piece.
      if (!end || (end[0] === '\r' && end.index === this.buffer.length - 1)) return out
      const line = this.buffer.slice(0, end.index)
      this.buffer = this.buffer.slice(end.index + end[0].length)
      const e = this.line(line)
      if (e) out.push(e)
    }
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      const e = this.data.length > 0 ? { event: this.event || 'message', data: this.data.join('\n') } : undefined
      this.event = ''
      this.data = []
      return e
    }
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
    return undefined
  }
}

// What a stream has shown so far of a report being written.
export interface StreamProgress {
  // Each step as it started, in order, with the milliseconds since the request began.
  stages: { stage: string, elapsedMs: number }[]
  // The model's text per node, in the order the nodes wrote: a draft, never the report.
  drafts: { node: string, text: string }[]
  // The report's parts that passed their checks, by name (data, stance, confidence, reasons, …).
  fields: Record<string, string>
}

export const noProgress: StreamProgress = { stages: [], drafts: [], fields: {} }

function record(data: string): Record<string, unknown> {
  const v: unknown = JSON.parse(data)
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : {}
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '')

// p after the stage, token or field event e; other events leave it as it is.
export function applyEvent(p: StreamProgress, e: SseEvent): StreamProgress {
  const d = record(e.data)
  switch (e.event) {
    case 'stage':
      return { ...p, stages: [...p.stages, { stage: text(d.stage), elapsedMs: Number(d.elapsed_ms) || 0 }] }
    case 'token': {
      const node = text(d.node)
      const last = p.drafts.at(-1)
      const drafts = last?.node === node
        ? [...p.drafts.slice(0, -1), { node, text: last.text + text(d.text) }]
        : [...p.drafts, { node, text: text(d.text) }]
      return { ...p, drafts }
    }
    case 'field':
      return { ...p, fields: { ...p.fields, [text(d.field)]: text(d.text) } }
  }
  return p
}

// The answer of a streamed /analyze: its report or training, or an ApiError for its error event;
// onProgress sees the progress after each other event. An answer that came as JSON (a server
// that does not stream, or an error) is read as the plain call reads it.
export async function readAnalysis(res: Response, onProgress: (p: StreamProgress) => void): Promise<Analysis | TrainingStarted> {
  if (!/^text\/event-stream\b/i.test(res.headers.get('Content-Type') ?? '') || res.body === null) {
    return await res.json() as Analysis | TrainingStarted
  }
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  const parser = new SseParser()
  let progress = noProgress
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      for (const e of parser.push(decoder.decode(value, { stream: true }))) {
        switch (e.event) {
          case 'report':
            return JSON.parse(e.data) as Analysis
          case 'training':
            return JSON.parse(e.data) as TrainingStarted
          case 'error': {
            const d = record(e.data)
            throw new ApiError(Number(d.status) || 500, text(d.detail) || 'The analysis failed.')
          }
        }
        progress = applyEvent(progress, e)
        onProgress(progress)
      }
    }
  } finally {
    reader.releaseLock()
  }
  throw new ApiError(0, 'The report’s stream ended before the report came.')
}

// The progress of each ticker's report being written, for the view (useAnalysisProgress).
const progressOf = new Map<string, StreamProgress>()
const listeners = new Set<() => void>()

function publish(ticker: string, p: StreamProgress) {
  progressOf.set(ticker, p)
  for (const l of listeners) l()
}

function subscribe(l: () => void): () => void {
  listeners.add(l)
  return () => { listeners.delete(l) }
}

export function useAnalysisProgress(ticker: string): StreamProgress {
  return useSyncExternalStore(subscribe, () => progressOf.get(ticker) ?? noProgress)
}

// POST /analyze for ticker as a stream; aborting signal (the page left, Cancel) closes the
// connection, which cancels the run on the server.
export async function streamAnalysis(ticker: string, signal?: AbortSignal): Promise<Analysis | TrainingStarted> {
  publish(ticker, noProgress)
  const res = await postForEvents('/analyze', { ticker }, signal)
  return readAnalysis(res, (p) => { publish(ticker, p) })
}
