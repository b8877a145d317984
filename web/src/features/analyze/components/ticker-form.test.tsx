import { screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import { rememberTicker } from '../recent-tickers'
import { TickerForm } from './ticker-form'

describe('TickerForm', () => {
  it('refuses an invalid ticker before any request', async () => {
    const requests: string[] = []
    server.events.on('request:start', ({ request }) => { requests.push(new URL(request.url).pathname) })
    const onSubmit = vi.fn()
    renderApp(<TickerForm onSubmit={onSubmit} />)
    await screen.findByText(/Data on this server: AAPL, MSFT/)
    requests.length = 0

    await userEvent.type(screen.getByLabelText('Ticker symbol'), '../etc')
    await userEvent.click(screen.getByRole('button', { name: 'Analyze' }))

    expect(screen.getByRole('alert')).toHaveTextContent('Use only letters, digits')
    expect(screen.getByLabelText('Ticker symbol')).toHaveAttribute('aria-invalid', 'true')
    expect(onSubmit).not.toHaveBeenCalled()
    expect(requests).toEqual([])
    server.events.removeAllListeners()
  })

  it('submits the ticker trimmed and upper-cased', async () => {
    const onSubmit = vi.fn()
    renderApp(<TickerForm onSubmit={onSubmit} />)
    await userEvent.type(screen.getByLabelText('Ticker symbol'), ' brk-b {Enter}')
    expect(onSubmit).toHaveBeenCalledWith('BRK-B')
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('offers the recent tickers', async () => {
    rememberTicker('AAPL')
    rememberTicker('MSFT')
    const onSubmit = vi.fn()
    renderApp(<TickerForm onSubmit={onSubmit} />)
    const recent = screen.getAllByRole('button').filter((b) => b.textContent === 'MSFT' || b.textContent === 'AAPL')
    expect(recent.map((b) => b.textContent)).toEqual(['MSFT', 'AAPL'])
    await userEvent.click(recent[1]!)
    expect(onSubmit).toHaveBeenCalledWith('AAPL')
  })

  it('still works when the list of tickers cannot be had', async () => {
    server.use(http.get('/tickers', () => HttpResponse.json({ detail: 'down' }, { status: 503 })))
    renderApp(<TickerForm onSubmit={vi.fn()} />)
    await waitFor(() => expect(screen.getByText(/up to 12 characters/)).toBeInTheDocument())
  })
})
