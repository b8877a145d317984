import { screen, within } from '@testing-library/react'
import { http } from 'msw'
import { describe, expect, it } from 'vitest'
import { models } from '../../../testing/fixtures'
import { apiError } from '../../../testing/handlers'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import type { ModelSummary } from '../../../types/api'
import { ComparisonChart } from './comparison-chart'
import { PastForecastsChart } from './past-forecasts-chart'
import { TrainingCurves } from './training-curves'

const evaluated: ModelSummary = {
  ...models[0]!,
  versions: [{
    version: 'v2', serving: true,
    metrics: { mae: { lstm: { 1: 2.5, 5: 5, 21: 9, 63: null }, naive: { 1: 2, 5: 4.5, 21: 10, 63: 18 }, drift: { 1: 2.1, 5: 4.8, 21: 11, 63: 20 } } },
  }],
}

describe('model charts', () => {
  it('draws the newest run\'s loss curves', async () => {
    renderApp(<TrainingCurves ticker="MSFT" />)
    const chart = await screen.findByTestId('loss-chart')
    expect(within(chart).getByRole('img')).toHaveAccessibleName(/^Loss per epoch, version v2\. 1 epoch; the lowest validation loss, 0\.8700, came at epoch 1\.$/)
    expect(chart.querySelector('[data-mark]')).not.toBeNull()
  })

  it('has an empty state when no run is logged, and an error state', async () => {
    server.use(http.get('/models/:t/runs', () => apiError(404, "No training runs for 'MSFT'")))
    const { unmount } = renderApp(<TrainingCurves ticker="MSFT" />)
    expect(await screen.findByText('No training run is logged for this model.')).toBeInTheDocument()
    unmount()
    server.use(http.get('/models/:t/runs', () => apiError(500, 'internal error; see the server log')))
    renderApp(<TrainingCurves ticker="MSFT" />)
    expect(await screen.findByRole('alert')).toHaveTextContent('internal error; see the server log')
    expect(screen.getByRole('button', { name: /try again/i })).toBeInTheDocument()
  })

  it('compares the model with both baselines per horizon, leaving out what was not measured', () => {
    renderApp(<ComparisonChart model={evaluated} />)
    const chart = screen.getByTestId('comparison-chart')
    expect(chart.querySelectorAll('rect[data-bar]')).toHaveLength(11)
    expect(chart.querySelector('[data-bar="This model 63 days"]')).toBeNull()
    const bar = (name: string) => Number(chart.querySelector(`[data-bar="${name}"]`)?.getAttribute('height'))
    expect(bar('This model 21 days')).toBeLessThan(bar('“No change” (persistence) 21 days'))
    expect(within(chart).getByRole('row', { name: /^5 days/ })).toHaveTextContent('5 days5.004.504.80')
  })

  it('has an empty state without a held-out evaluation', () => {
    renderApp(<ComparisonChart model={models[1]!} />)
    expect(screen.getByText(/no held-out evaluation on record/)).toBeInTheDocument()
    expect(screen.queryByTestId('comparison-chart')).toBeNull()
  })

  it('draws each held-out forecast with its band over the closes that followed', async () => {
    renderApp(<PastForecastsChart ticker="MSFT" />)
    const chart = await screen.findByTestId('past-forecasts-chart')
    expect(within(chart).getByRole('img')).toHaveAccessibleName(/2 forecasts made on held-out dates from 3 Jun 2024 to 11 Jun 2024; the real close stayed inside the 80% band on 5 of 6 days\.$/)
    expect(chart.querySelectorAll('path[data-band]')).toHaveLength(2)
    expect(chart.querySelectorAll('path[data-series^="forecast from"]')).toHaveLength(2)
    expect(chart.querySelector('path[data-series="actual"]')?.getAttribute('d')?.match(/L/g)).toHaveLength(6) // 7 closes
    expect([...chart.querySelectorAll('circle[data-mark]')].map((m) => m.getAttribute('data-mark'))).toEqual(['forecast made on 2024-06-03', 'forecast made on 2024-06-06'])
    expect(within(chart).getByRole('row', { name: /^6 Jun 2024/ })).toHaveTextContent('6 Jun 2024403.00402.00406.002 of 3')
  })

  it('has an empty state without a model, and an error state', async () => {
    server.use(http.get('/models/:t/past-forecasts', () => apiError(404, "no trained model for 'MSFT'")))
    const { unmount } = renderApp(<PastForecastsChart ticker="MSFT" />)
    expect(await screen.findByText(/There are no past forecasts to compare: no trained model for 'MSFT'/)).toBeInTheDocument()
    unmount()
    server.use(http.get('/models/:t/past-forecasts', () => apiError(429, 'rate limited', { 'Retry-After': '3' })))
    renderApp(<PastForecastsChart ticker="MSFT" />)
    expect(await screen.findByRole('alert')).toHaveTextContent('rate limited')
  })
})
