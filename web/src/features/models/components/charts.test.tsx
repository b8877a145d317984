import { screen, within } from '@testing-library/react'
import { http } from 'msw'
import { describe, expect, it } from 'vitest'
import { models } from '../../../testing/fixtures'
import { apiError } from '../../../testing/handlers'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import type { ModelSummary } from '../../../types/api'
import { ComparisonChart } from './comparison-chart'
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
})
