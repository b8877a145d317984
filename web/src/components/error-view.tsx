import { useEffect, useState, type ReactNode } from 'react'
import { Link } from 'wouter'
import { ApiError } from '../lib/api-client'
import { Button } from './button'

// What the user can do about each kind of failure the API reports (docs/api.md, "Errors").
function nextStep(err: ApiError, notFound: ReactNode | undefined, wait: number): ReactNode {
  const systemPage = <Link href="/system" className="underline">System page</Link>
  switch (true) {
    case err.status === 0:
      return 'Check that the server is running and reachable, then try again.'
    case err.status === 400 || err.status === 422:
      return 'Correct the input and send it again.'
    case err.status === 401:
      return <>This server needs an API key: enter it on the {systemPage}.</>
    case err.status === 403:
      return <>The API key was refused: check it on the {systemPage}.</>
    case err.status === 404:
      return notFound ?? 'It does not exist (yet).'
    case err.status === 409:
      return 'Something else is already doing this: wait for it to finish, then try again.'
    case err.status === 429:
      return wait > 0 ? `Too many requests. You can try again in ${wait} s.` : 'You can try again now.'
    case err.status === 503:
      return <>A part of the service is not available. The {systemPage} shows which; try again once it is back.</>
    default:
      return 'The server failed. Try again; if it keeps failing, the server log (Monitor page) says why.'
  }
}

function title(err: ApiError): string {
  if (err.status === 0) return 'The server cannot be reached'
  if (err.status === 404) return 'Not found'
  if (err.status === 429) return 'Rate limit reached'
  if (err.status === 503) return 'Temporarily unavailable'
  if (err.status >= 500) return 'Server error'
  return 'Request refused'
}

// Seconds left of a Retry-After, counted down.
function useWait(err: ApiError | undefined): number {
  const total = err?.retryAfter ?? 0
  const [left, setLeft] = useState(total)
  // A new error starts its own count (set while rendering, so the old count never shows).
  const [counted, setCounted] = useState(err)
  if (err !== counted) {
    setCounted(err)
    setLeft(total)
  }
  useEffect(() => {
    if (total <= 0) return
    const end = Date.now() + total * 1000
    const t = setInterval(() => {
      const s = Math.max(0, Math.ceil((end - Date.now()) / 1000))
      setLeft(s)
      if (s === 0) clearInterval(t)
    }, 1000)
    return () => clearInterval(t)
  }, [err, total])
  return left
}

export function ErrorView({ error, onRetry, notFound }: {
  error: unknown
  onRetry?: () => void
  // What to say when the thing asked for does not exist.
  notFound?: ReactNode
}) {
  const err = error instanceof ApiError ? error : undefined
  const wait = useWait(err)
  const detail = err?.detail ?? (error instanceof Error ? error.message : String(error))
  return (
    <div role="alert" className="rounded-xl border border-down bg-down-bg p-4 text-fg">
      <p className="font-semibold text-down">
        <span aria-hidden="true">⚠ </span>
        {err ? title(err) : 'Something went wrong'}
        {err && err.status > 0 && <span className="font-normal text-muted"> (HTTP {err.status})</span>}
      </p>
      <p className="mt-1 break-words">{detail}</p>
      {err && <p className="mt-1 text-sm">{nextStep(err, notFound, wait)}</p>}
      {onRetry && (
        <Button variant="secondary" className="mt-3" onClick={onRetry} disabled={wait > 0}>
          Try again
        </Button>
      )}
    </div>
  )
}
