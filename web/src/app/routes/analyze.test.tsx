import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { recentTickers } from '../../features/analyze/recent-tickers'
import { analysis, completedTask, task } from '../../testing/fixtures'
import { apiError } from '../../testing/handlers'
import { renderApp } from '../../testing/render'
import { server } from '../../testing/server'
import { AppRoutes } from '../app'

vi.mock('../../features/analyze/components/forecast-chart', () => ({
  default: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
}))

// Answers in turn, the last one from then on.
function inTurn<T>(answers: T[]): () => T {
  let i = 0
  return () => answers[Math.min(i++, answers.length - 1)]!
}

const slow = { timeout: 8000 }

describe('Analyze page', () => {
  it('trains first, shows the real progress, then the report by itself', async () => {
    const analyzeCalls: string[] = []
    const nextAnalysis = inTurn([
      HttpResponse.json({ status: 'training', detail: 'no model for MSFT yet', ticker: 'MSFT', task_id: 'msft' }, { status: 202 }),
      HttpResponse.json(analysis()),
    ])
    const nextChild = inTurn([
      task({ status: 'queued', detail: 'waiting for parent_training to complete' }),
      task({ status: 'running', progress: { stage: 'epoch', epoch: 1, epochs: 2, train_loss: 0.99, val_loss: 0.87 } }),
      completedTask,
    ])
    const nextParent = inTurn([
      task({ task_id: 'parent_training', kind: 'train_parent', progress: { stage: 'epoch', epoch: 1, epochs: 1, train_loss: 0.5 } }),
      task({ ...completedTask, task_id: 'parent_training' }),
    ])
    server.use(
      http.post('/analyze', async ({ request }) => {
        analyzeCalls.push(((await request.json()) as { ticker: string }).ticker)
        return nextAnalysis()
      }),
      http.get('/status/msft', () => HttpResponse.json(nextChild())),
      http.get('/status/parent_training', () => HttpResponse.json(nextParent())),
    )

    renderApp(<AppRoutes />, { path: '/analyze/MSFT' })

    expect(await screen.findByText(/There is no model for MSFT yet/)).toBeInTheDocument()
    const market = await screen.findByRole('region', { name: 'Training the market model (S&P 500)' })
    expect(within(market).getByRole('status')).toHaveTextContent('Epoch 1 of 1')
    const child = screen.getByRole('region', { name: 'Training MSFT' })
    expect(await within(child).findByText('Epoch 1 of 2', {}, slow)).toBeInTheDocument()
    expect(within(child).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '50')
    expect(within(child).getByText(/training loss 0.9900 · validation loss 0.8700/)).toBeInTheDocument()

    expect(await screen.findByRole('heading', { name: "The analyst's report" }, slow)).toBeInTheDocument()
    expect(await screen.findByRole('heading', { name: 'Outlook' })).toBeInTheDocument()
    expect(analyzeCalls).toEqual(['MSFT', 'MSFT'])
    expect(recentTickers()).toEqual(['MSFT'])
  })

  it('shows a failed training, and follows the new one when asked to try again', async () => {
    let analyzeCalls = 0
    let retried = false
    server.use(
      http.post('/analyze', () => {
        analyzeCalls++
        retried = analyzeCalls > 1
        return HttpResponse.json({ status: 'training', detail: 'training', ticker: 'MSFT', task_id: 'msft' }, { status: 202 })
      }),
      http.get('/status/msft', () => HttpResponse.json(retried
        ? task({ progress: { stage: 'epoch', epoch: 1, epochs: 3 } })
        : task({ status: 'failed', error: 'cancelled' }))),
    )
    renderApp(<AppRoutes />, { path: '/analyze/MSFT' })
    expect(await screen.findByText('Training failed')).toBeInTheDocument()
    expect(screen.getByText('cancelled')).toBeInTheDocument()
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }))
    expect(await screen.findByText('Epoch 1 of 3')).toBeInTheDocument()
    expect(analyzeCalls).toBe(2)
  })

  it('shows a rate limit with its detail and the time to wait', async () => {
    server.use(http.post('/analyze', () => apiError(429, 'rate limit exceeded for prediction requests (40 per window for each client); retry in 30 s', { 'Retry-After': '30' })))
    renderApp(<AppRoutes />, { path: '/analyze/MSFT' })
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Rate limit reached')
    expect(alert).toHaveTextContent('rate limit exceeded for prediction requests')
    expect(alert).toHaveTextContent('You can try again in 30 s.')
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeDisabled()
  })

  it('says what to do about an unknown ticker', async () => {
    server.use(http.post('/analyze', () => apiError(404, "No price data for ticker 'ZZZZ' (looked in: bundled data)")))
    renderApp(<AppRoutes />, { path: '/analyze/ZZZZ' })
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent("No price data for ticker 'ZZZZ'")
    expect(alert).toHaveTextContent('There is no price data for ZZZZ. Check the symbol')
  })

  it('points to the System page when a part is down', async () => {
    server.use(http.post('/analyze', () => apiError(503, 'no LLM configured (LLM_PROVIDER=none)')))
    renderApp(<AppRoutes />, { path: '/analyze/MSFT' })
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Temporarily unavailable')
    expect(alert).toHaveTextContent('no LLM configured')
    expect(within(alert).getByRole('link', { name: 'System page' })).toHaveAttribute('href', '/system')
  })

  it('refuses a bad ticker in the address without asking the server', async () => {
    const analyze = vi.fn(() => HttpResponse.json(analysis()))
    server.use(http.post('/analyze', analyze))
    renderApp(<AppRoutes />, { path: '/analyze/..%2Fetc' })
    expect(await screen.findByRole('alert')).toHaveTextContent('Use only letters, digits')
    expect(analyze).not.toHaveBeenCalled()
  })
})
