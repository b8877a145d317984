import createClient, { type Middleware } from 'openapi-fetch'
import { env } from '../config/env'
import type { paths } from '../types/openapi'
import { getApiKey } from './api-key'

// The one place that talks HTTP to the API: a client typed by the OpenAPI document, so a wrong
// path, parameter or body fails to compile. It adds the API key, and turns every answer but a
// 2xx JSON one into an ApiError, reading the {"detail"} of error answers (docs/api.md, "Errors")
// and the Retry-After of a 429 or 503.

export class ApiError extends Error {
  // status is 0 when no answer came (server down, network gone).
  readonly status: number
  readonly detail: string
  // Seconds to wait before trying again, from Retry-After.
  readonly retryAfter: number | undefined

  constructor(status: number, detail: string, retryAfter?: number) {
    super(status === 0 ? detail : `${status}: ${detail}`)
    this.name = 'ApiError'
    this.status = status
    this.detail = detail
    this.retryAfter = retryAfter
  }
}

// fetch, throwing ApiError for everything the callers should not read as data. globalThis.fetch
// is looked up per call, as tests replace it after this module loads.
async function send(request: Request): Promise<Response> {
  const res = await answered(request)
  // An HTML page (a proxy's, or the app's own for a path the server does not route) is no answer.
  const type = res.headers.get('Content-Type') ?? ''
  if (!/^application\/json\b/i.test(type) || res.headers.get('Content-Length') === '0') {
    throw new ApiError(res.status, `The server answered ${new URL(request.url).pathname} with something other than JSON.`)
  }
  return res
}

// fetch, throwing ApiError when no answer came or the answer is an error.
async function answered(request: Request): Promise<Response> {
  let res: Response
  try {
    res = await globalThis.fetch(request)
  } catch (err) {
    if (request.signal.aborted) throw err
    throw new ApiError(0, `Cannot reach the server${env.apiBaseUrl ? ` at ${env.apiBaseUrl}` : ''}.`)
  }
  if (!res.ok) throw await errorOf(res)
  return res
}

// A POST whose answer may come as server-sent events (POST /analyze with Accept:
// text/event-stream, docs/api.md): the answer as it begins, its body still to read, or an
// ApiError as for any call. openapi-fetch reads whole bodies, so this one call is made by hand.
export async function postForEvents(path: '/analyze', body: unknown, signal?: AbortSignal): Promise<Response> {
  const headers = new Headers({ Accept: 'text/event-stream, application/json', 'Content-Type': 'application/json' })
  const key = getApiKey()
  if (key !== '') headers.set('X-API-Key', key)
  return answered(new Request(baseUrl.replace(/\/$/, '') + path, { method: 'POST', headers, body: JSON.stringify(body), signal }))
}

async function errorOf(res: Response): Promise<ApiError> {
  let data: unknown
  try {
    data = JSON.parse(await res.text())
  } catch {
    data = undefined
  }
  const detail = isRecord(data) && typeof data.detail === 'string'
    ? data.detail
    : `${res.status} ${res.statusText}`.trim()
  return new ApiError(res.status, detail, parseRetryAfter(res.headers.get('Retry-After')))
}

// The key a server started with API_KEYS wants (lib/api-key.ts), read per request as the user
// may enter it at any time.
const apiKey: Middleware = {
  onRequest({ request }) {
    const key = getApiKey()
    if (key !== '') request.headers.set('X-API-Key', key)
    return request
  },
}

// Spelled out because a Request needs an absolute URL outside a page (tests); '' in env means
// this page's own origin.
const baseUrl = env.apiBaseUrl || globalThis.location.origin

export const api = createClient<paths, 'application/json'>({
  baseUrl,
  headers: { Accept: 'application/json' },
  fetch: send,
})
api.use(apiKey)

// The data of a call to api. send() lets nothing but a 2xx JSON answer through, so data is there.
// Where the document leaves an object open, the caller casts the answer to its narrow type in
// types/api.ts.
export async function data<T>(call: Promise<{ data?: T }>): Promise<T> {
  return (await call).data as T
}

// Retry-After is either seconds or an HTTP date.
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim())
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000))
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
