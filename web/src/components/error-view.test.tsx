import { act, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../lib/api-client'
import { ErrorView } from './error-view'

describe('ErrorView', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('counts a Retry-After down, and starts again for a new error', () => {
    vi.useFakeTimers()
    const view = render(<ErrorView error={new ApiError(429, 'slow down', 2)} onRetry={() => {}} />)
    expect(screen.getByRole('alert')).toHaveTextContent('You can try again in 2 s.')
    expect(screen.getByRole('button', { name: 'Try again' })).toBeDisabled()

    act(() => {
      vi.advanceTimersByTime(2000)
    })
    expect(screen.getByRole('alert')).toHaveTextContent('You can try again now.')
    expect(screen.getByRole('button', { name: 'Try again' })).toBeEnabled()

    view.rerender(<ErrorView error={new ApiError(429, 'slow down', 5)} onRetry={() => {}} />)
    expect(screen.getByRole('alert')).toHaveTextContent('You can try again in 5 s.')
  })
})
