import { fireEvent, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { backtest, task } from '../../../testing/fixtures'
import { apiError } from '../../../testing/handlers'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import type { BacktestList, BacktestTask } from '../../../types/api'
import { BacktestPanel } from './backtest-panel'

const setDate = (label: string, value: string) => fireEvent.change(screen.getByLabelText(label), { target: { value } })

describe('BacktestPanel', () => {
  it('draws the newest result: equity curves, MASE bars per forecaster, coverage and the strategy', async () => {
    renderApp(<BacktestPanel ticker="MSFT" dataAsOf="2024-12-31" />)
    const equity = await screen.findByTestId('backtest-equity-chart')
    expect(within(equity).getByRole('img')).toHaveAccessibleName(/the strategy ended at 1\.012, buy-and-hold at 0\.990\.$/)
    expect(equity.querySelector('path[data-series="strategy"]')?.getAttribute('d')?.match(/L/g)).toHaveLength(3)
    expect(equity.querySelector('path[data-series="buy and hold"]')).not.toBeNull()
    const mase = screen.getByTestId('backtest-mase-chart')
    expect(mase.querySelectorAll('rect[data-bar]')).toHaveLength(6)
    const bar = (name: string) => Number(mase.querySelector(`[data-bar="${name}"]`)?.getAttribute('height'))
    expect(bar('Trend carried on (drift) 1 day')).toBeLessThan(bar('“No change” (persistence) 1 day'))
    const coverage = screen.getByTestId('backtest-coverage-table')
    expect(within(coverage).getAllByRole('row')).toHaveLength(7) // a head and 2 horizons × 3 forecasters
    expect(within(coverage).getAllByRole('row')[1]).toHaveTextContent('1 dayLSTM475.0%100.0%75.0% (30%–95%)')
    expect(within(screen.getByTestId('backtest-strategy-table')).getByRole('row', { name: /Total return/ })).toHaveTextContent('+1.2%−1.0%')
    expect(screen.getByText('h=1: drift beat persistence on MAE (MASE below 1)')).toBeInTheDocument()
  })

  it('starts a backtest with the form\'s values, shows its progress, then its result', async () => {
    let body: unknown
    let polls = 0
    server.use(
      http.post('/backtest', async ({ request }) => {
        body = await request.json()
        return HttpResponse.json({ status: 'started', task_id: 'backtest_msft' }, { status: 202 })
      }),
      http.get('/status/:id', () => {
        polls += 1
        return HttpResponse.json((polls === 1
          ? task({ task_id: 'backtest_msft', kind: 'backtest', progress: { stage: 'backtest', done: 21, total: 254 } })
          : task({ task_id: 'backtest_msft', kind: 'backtest', status: 'completed', elapsed_seconds: 7, result: undefined })) as BacktestTask)
      }),
      http.get('/models/:t/backtests', () => HttpResponse.json({ ticker: 'MSFT', backtests: polls > 1 ? [backtest] : [] } satisfies BacktestList)),
    )
    renderApp(<BacktestPanel ticker="MSFT" dataAsOf="2024-12-31" />)
    expect(await screen.findByText(/No backtest of this model yet/)).toBeInTheDocument()
    expect(screen.getByLabelText('From')).toHaveValue('2023-12-31')
    setDate('From', '2024-01-02')
    await userEvent.click(screen.getByRole('checkbox', { name: '5' }))
    await userEvent.type(screen.getByLabelText(/Refit every/), '10')
    await userEvent.type(screen.getByLabelText(/Cost/), '0')
    await userEvent.click(screen.getByRole('button', { name: 'Run backtest' }))
    expect(body).toEqual({ ticker: 'MSFT', start_date: '2024-01-02', end_date: '2024-12-31', horizons: [1, 21], refit_every: 10, cost_bps: 0 })
    expect(await screen.findByText('Origin 21 of 254')).toBeInTheDocument()
    expect(screen.getByRole('progressbar', { name: 'Backtest progress' })).toHaveAttribute('value', '21')
    expect(await screen.findByText(/Backtest done in 7 s/, {}, { timeout: 3000 })).toBeInTheDocument()
    expect(await screen.findByTestId('backtest-equity-chart')).toBeInTheDocument()
  })

  it('refuses a bad form before any request', async () => {
    let asked = false
    server.use(http.post('/backtest', () => { asked = true; return HttpResponse.json({}) }))
    renderApp(<BacktestPanel ticker="MSFT" dataAsOf="2024-12-31" />)
    setDate('From', '2025-01-02')
    await userEvent.click(screen.getByRole('button', { name: 'Run backtest' }))
    expect(screen.getByRole('alert')).toHaveTextContent('The start date must come before the end date.')
    setDate('From', '2024-01-02')
    for (const h of ['1', '5', '21']) await userEvent.click(screen.getByRole('checkbox', { name: h }))
    await userEvent.click(screen.getByRole('button', { name: 'Run backtest' }))
    expect(screen.getByRole('alert')).toHaveTextContent('Choose at least one horizon.')
    await userEvent.click(screen.getByRole('checkbox', { name: '1' }))
    await userEvent.type(screen.getByLabelText(/Refit every/), '300')
    await userEvent.click(screen.getByRole('button', { name: 'Run backtest' }))
    expect(screen.getByRole('alert')).toHaveTextContent('Refit every must be a whole number from 1 to 252.')
    expect(asked).toBe(false)
  })

  it('shows the server\'s refusal, and an error state for the list', async () => {
    server.use(
      http.post('/backtest', () => apiError(422, "the backtest range must lie within MSFT's data")),
      http.get('/models/:t/backtests', () => apiError(500, 'internal error; see the server log')),
    )
    renderApp(<BacktestPanel ticker="MSFT" dataAsOf="2024-12-31" />)
    expect(await screen.findByRole('button', { name: /try again/i })).toBeInTheDocument()
    await userEvent.click(screen.getByRole('button', { name: 'Run backtest' }))
    expect(await screen.findByText("the backtest range must lie within MSFT's data")).toBeInTheDocument()
  })

  it('says when a backtest failed', async () => {
    server.use(http.get('/status/:id', () => HttpResponse.json(task({ task_id: 'backtest_msft', kind: 'backtest', status: 'failed', error: 'Cancelled: cancelled by its owner' }) as BacktestTask)))
    renderApp(<BacktestPanel ticker="MSFT" dataAsOf="2024-12-31" />)
    await userEvent.click(screen.getByRole('button', { name: 'Run backtest' }))
    expect(await screen.findByText(/The backtest failed: Cancelled: cancelled by its owner/)).toBeInTheDocument()
  })
})
