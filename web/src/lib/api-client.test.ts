import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { apiError } from '../testing/handlers'
import { server } from '../testing/server'
import { api, ApiError, data, parseRetryAfter } from './api-client'
import { setApiKey } from './api-key'

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(ApiError)
  return err as ApiError
}

describe('api', () => {
  it('returns the JSON of a 2xx answer, 202 included', async () => {
    const training = { status: 'training', detail: 'training first', ticker: 'X', task_id: 'x' }
    server.use(http.post('/analyze', () => HttpResponse.json(training, { status: 202 })))
    await expect(data(api.POST('/analyze', { body: { ticker: 'X' } }))).resolves.toEqual(training)
  })

  it('sends the body as JSON and the API key when one is set', async () => {
    let seen: { body: unknown, key: string | null, type: string | null } | undefined
    server.use(http.post('/train-child', async ({ request }) => {
      seen = { body: await request.json(), key: request.headers.get('X-API-Key'), type: request.headers.get('Content-Type') }
      return HttpResponse.json({ status: 'started', task_id: 'aapl' })
    }))
    setApiKey('secret')
    await data(api.POST('/train-child', { body: { ticker: 'AAPL' } }))
    expect(seen).toEqual({ body: { ticker: 'AAPL' }, key: 'secret', type: 'application/json' })
  })

  it('puts path and query parameters into the URL, encoded', async () => {
    const seen: string[] = []
    server.use(
      http.get('/models/:ticker/runs', ({ request }) => {
        seen.push(new URL(request.url).pathname)
        return HttpResponse.json({ ticker: '^GSPC', runs: [] })
      }),
      http.get('/system/logs', ({ request }) => {
        seen.push(new URL(request.url).search)
        return HttpResponse.json({ logs: '', filename: 'server.log' })
      }),
    )
    await data(api.GET('/models/{ticker}/runs', { params: { path: { ticker: '^GSPC' } } }))
    await data(api.GET('/system/logs', { params: { query: { lines: 50 } } }))
    expect(seen).toEqual(['/models/%5EGSPC/runs', '?lines=50'])
  })

  it('reads detail and Retry-After from an error answer', async () => {
    server.use(http.get('/tasks', () => apiError(429, 'rate limit exceeded for training requests', { 'Retry-After': '42' })))
    const err = await failure(data(api.GET('/tasks')))
    expect(err.status).toBe(429)
    expect(err.detail).toBe('rate limit exceeded for training requests')
    expect(err.retryAfter).toBe(42)
  })

  it('falls back to the status when the error has no detail', async () => {
    server.use(http.get('/tasks', () => new HttpResponse('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })))
    const err = await failure(data(api.GET('/tasks')))
    expect(err.status).toBe(502)
    expect(err.detail).toBe('502 Bad Gateway')
  })

  it('says so when the server cannot be reached', async () => {
    server.use(http.get('/tasks', () => HttpResponse.error()))
    const err = await failure(data(api.GET('/tasks')))
    expect(err.status).toBe(0)
    expect(err.detail).toMatch(/cannot reach the server/i)
  })

  it('passes an abort on as it is, not as an unreachable server', async () => {
    server.use(http.get('/tasks', () => new Promise<never>(() => {})))
    const stop = new AbortController()
    const call = data(api.GET('/tasks', { signal: stop.signal }))
    stop.abort()
    const err = await call.then(() => undefined, (e: unknown) => e)
    expect(err).not.toBeInstanceOf(ApiError)
    expect((err as Error).name).toBe('AbortError')
  })

  it('refuses a 2xx answer that is not JSON', async () => {
    server.use(http.get('/tasks', () => new HttpResponse('<!doctype html>', { status: 200, headers: { 'Content-Type': 'text/html' } })))
    const err = await failure(data(api.GET('/tasks')))
    expect(err.status).toBe(200)
    expect(err.detail).toBe('The server answered /tasks with something other than JSON.')
  })
})

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('30', now)).toBe(30)
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60)
    expect(parseRetryAfter(null, now)).toBeUndefined()
    expect(parseRetryAfter('soon', now)).toBeUndefined()
  })
})
