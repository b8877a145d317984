import { env } from '../config/env'
import { getApiKey } from './api-key'

// The one place that talks HTTP to the API: it adds the API key, reads the {"detail"} of every
// error answer (docs/api.md, "Errors") and the Retry-After of a 429 or 503.

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

type Options = {
  method?: 'GET' | 'POST' | 'DELETE'
  body?: unknown
  signal?: AbortSignal | undefined
}

export async function api<T>(path: string, { method = 'GET', body, signal }: Options = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const key = getApiKey()
  if (key !== '') headers['X-API-Key'] = key

  let res: Response
  try {
    res = await fetch(env.apiBaseUrl + path, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (err) {
    if (signal?.aborted) throw err
    throw new ApiError(0, `Cannot reach the server${env.apiBaseUrl ? ` at ${env.apiBaseUrl}` : ''}.`)
  }

  const text = await res.text()
  let data: unknown
  try {
    data = text === '' ? undefined : JSON.parse(text)
  } catch {
    data = undefined
  }
  if (!res.ok) {
    const detail = isRecord(data) && typeof data.detail === 'string'
      ? data.detail
      : `${res.status} ${res.statusText}`.trim()
    throw new ApiError(res.status, detail, parseRetryAfter(res.headers.get('Retry-After')))
  }
  if (data === undefined) {
    throw new ApiError(res.status, `The server answered ${path} with something other than JSON.`)
  }
  return data as T
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
