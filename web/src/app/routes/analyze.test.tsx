import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { recentTickers } from '../../features/analyze/recent-tickers'
import { analysis, completedTask, prediction, task } from '../../testing/fixtures'
import { apiError } from '../../testing/handlers'
import { renderApp } from '../../testing/render'
import { server } from '../../testing/server'
import type { TrainingStarted } from '../../types/api'
import { AppRoutes } from '../app'

vi.mock('../../features/analyze/components/forecast-chart', () => ({
  default: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
}))

// Answers in turn, the last one from then on.
function inTurn<T>(answers: T[]): () => T {
  let i = 0
  return () => answers[Math.min(i++, answers.length - 1)]!
}

// An answer that never comes, as a report still being written.
const writing = () => new Promise<never>(() => {})

const training = { status: 'training', detail: 'no model for MSFT yet', task_id: 'msft' } satisfies TrainingStarted

const slow = { timeout: 8000 }

function kpi(name: string): HTMLElement {
  return screen.getByText(name, { selector: 'dt' }).parentElement as HTMLElement
}

describe('Analyze page', () => {
  it('draws the forecast while the analyst is still writing', async () => {
    server.use(http.post('/analyze', writing))
    renderApp(<AppRoutes />, { path: '/analyze/MSFT' })

    expect(await screen.findByRole('img', { name: /Chart of MSFT's closing prices.*forecast .* by/ })).toBeInTheDocument()
    expect(kpi('Last close')).toHaveTextContent('416.56')
    expect(kpi('Forecast in 21 trading days')).toHaveTextContent('+2.1%')
    expect(screen.getByText(/Prices up to Tue, 31 Dec 2024/)).toBeInTheDocument()
    expect(screen.getByText(/Tested on 873 forecasts/)).toBeInTheDocument()
    const report = screen.getByRole('region', { name: "The analyst's report" })
    expect(within(report).getByRole('status')).toHaveTextContent('The analyst is writing the report')
    expect(kpi("Analyst's stance")).toHaveTextContent('comes with the report')
    expect(screen.queryByRole('alert')).toBeNull()
    expect(recentTickers()).toEqual(['MSFT'])
  })

  it('keeps the forecast when the analyst is unavailable, and points to the System page', async () => {
    server.use(http.post('/analyze', () => apiError(503, 'no LLM configured (LLM_PROVIDER=none)')))
    renderApp(<AppRoutes />, { path: '/analyze/MSFT' })
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Temporarily unavailable')
    expect(alert).toHaveTextContent('no LLM configured')
    expect(within(alert).getByRole('link', { name: 'System page' })).toHaveAttribute('href', '/system')
    expect(within(screen.getByRole('region', { name: "The analyst's report" })).getByRole('alert')).toBe(alert)
    expect(await screen.findByRole('img', { name: /forecast .* by/ })).toBeInTheDocument()
    expect(kpi('Forecast in 21 trading days')).toHaveTextContent('+2.1%')
    expect(kpi("Analyst's stance")).toHaveTextContent('no report')
  })

  it('trains first, shows the real progress, then the forecast and the report by themselves', async () => {
    const calls: string[] = []
    const nextPrediction = inTurn([HttpResponse.json(training, { status: 202 }), HttpResponse.json({ result: prediction() })])
    const nextAnalysis = inTurn([HttpResponse.json({ ...training, ticker: 'MSFT' }, { status: 202 }), HttpResponse.json(analysis())])
    // The report after the training comes only when the test says so.
    let writeReport!: () => void
    const reportWritten = new Promise<void>((done) => { writeReport = done })
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
      http.post('/predict-child', async ({ request }) => {
        calls.push(`predict ${((await request.json()) as { ticker: string }).ticker}`)
        return nextPrediction()
      }),
      http.post('/analyze', async ({ request }) => {
        calls.push(`analyze ${((await request.json()) as { ticker: string }).ticker}`)
        const answer = nextAnalysis()
        if (answer.status === 200) await reportWritten
        return answer
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
    // Asked together once; nothing asked again while the model trains.
    expect(calls.toSorted()).toEqual(['analyze MSFT', 'predict MSFT'])

    expect(await screen.findByRole('img', { name: /forecast .* by/ }, slow)).toBeInTheDocument()
    const report = screen.getByRole('region', { name: "The analyst's report" })
    expect(within(report).getByRole('status')).toHaveTextContent('The analyst is writing the report')
    writeReport()
    expect(await within(report).findByRole('heading', { name: 'Outlook' })).toBeInTheDocument()
    expect(within(kpi("Analyst's stance")).getByText('NEUTRAL')).toBeInTheDocument()
    expect(screen.queryByRole('region', { name: 'Training MSFT' })).toBeNull()
    expect(calls.toSorted()).toEqual(['analyze MSFT', 'analyze MSFT', 'predict MSFT', 'predict MSFT'])
    expect(recentTickers()).toEqual(['MSFT'])
  })

  it('shows a failed training, and follows the new one when asked to try again', async () => {
    let predictCalls = 0
    let analyzeCalls = 0
    server.use(
      http.post('/predict-child', () => {
        predictCalls++
        return HttpResponse.json(training, { status: 202 })
      }),
      http.post('/analyze', () => {
        analyzeCalls++
        return HttpResponse.json({ ...training, ticker: 'MSFT' }, { status: 202 })
      }),
      http.get('/status/msft', () => HttpResponse.json(predictCalls > 1
        ? task({ progress: { stage: 'epoch', epoch: 1, epochs: 3 } })
        : task({ status: 'failed', error: 'cancelled' }))),
    )
    renderApp(<AppRoutes />, { path: '/analyze/MSFT' })
    expect(await screen.findByText('Training failed')).toBeInTheDocument()
    expect(screen.getByText('cancelled')).toBeInTheDocument()
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }))
    expect(await screen.findByText('Epoch 1 of 3')).toBeInTheDocument()
    // The forecast's call starts the new training; the analyst waits for it.
    expect(predictCalls).toBe(2)
    expect(analyzeCalls).toBe(1)
  })

  it('shows a rate limit on the forecast with its detail and the time to wait', async () => {
    const limited = () => apiError(429, 'rate limit exceeded for prediction requests (40 per window for each client); retry in 30 s', { 'Retry-After': '30' })
    server.use(http.post('/predict-child', limited), http.post('/analyze', limited))
    renderApp(<AppRoutes />, { path: '/analyze/MSFT' })
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Rate limit reached')
    expect(alert).toHaveTextContent('rate limit exceeded for prediction requests')
    expect(alert).toHaveTextContent('You can try again in 30 s.')
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeDisabled()
    expect(screen.getAllByRole('alert')).toHaveLength(1)
  })

  it("shows a rate limit on the report under the forecast, with the time to wait", async () => {
    server.use(http.post('/analyze', () => apiError(429, 'rate limit exceeded for prediction requests; retry in 12 s', { 'Retry-After': '12' })))
    renderApp(<AppRoutes />, { path: '/analyze/MSFT' })
    const report = await screen.findByRole('region', { name: "The analyst's report" })
    const alert = await within(report).findByRole('alert')
    expect(alert).toHaveTextContent('You can try again in 12 s.')
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeDisabled()
    expect(kpi('Last close')).toHaveTextContent('416.56')
  })

  it('draws the forecast from the report when the forecast call failed', async () => {
    server.use(http.post('/predict-child', () => apiError(500, 'boom')))
    renderApp(<AppRoutes />, { path: '/analyze/MSFT' })
    expect(await screen.findByRole('heading', { name: 'Outlook' }, slow)).toBeInTheDocument()
    expect(kpi('Last close')).toHaveTextContent('416.56')
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('says what to do about an unknown ticker', async () => {
    const missing = () => apiError(404, "No price data for ticker 'ZZZZ' (looked in: bundled data)")
    server.use(http.post('/predict-child', missing), http.post('/analyze', missing))
    renderApp(<AppRoutes />, { path: '/analyze/ZZZZ' })
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent("No price data for ticker 'ZZZZ'")
    expect(alert).toHaveTextContent('There is no price data for ZZZZ. Check the symbol')
    expect(screen.getAllByRole('alert')).toHaveLength(1)
  })

  it('refuses a bad ticker in the address without asking the server', async () => {
    const asked = vi.fn(() => HttpResponse.json(analysis()))
    server.use(http.post('/analyze', asked), http.post('/predict-child', asked))
    renderApp(<AppRoutes />, { path: '/analyze/..%2Fetc' })
    expect(await screen.findByRole('alert')).toHaveTextContent('Use only letters, digits')
    expect(asked).not.toHaveBeenCalled()
  })
})
