import { screen, within } from '@testing-library/react'
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { apiError } from '../../../testing/handlers'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import type { MonitorHistory } from '../../../types/api'
import { DriftHistoryChart } from './drift-history-chart'

describe('DriftHistoryChart', () => {
  it('draws every check against the thresholds, marked with the policy\'s decision', async () => {
    renderApp(<DriftHistoryChart ticker="MSFT" />)
    const chart = await screen.findByTestId('drift-history-chart')
    expect(within(chart).getByRole('img')).toHaveAccessibleName(/^Drift over time, 3 checks\. .*the latest check scored 2\.40 with a volatility ratio of 1\.70, decided Critical \(Drift Detected\)\.$/)
    const marks = [...chart.querySelectorAll('circle[data-mark]')]
    expect(marks).toHaveLength(6) // each check on both panels
    expect(marks.slice(0, 3).map((m) => m.getAttribute('class'))).toEqual(['fill-up', 'fill-warn', 'fill-down'])
    expect(marks[2]).toHaveAttribute('data-mark', expect.stringMatching(/Critical \(Drift Detected\) \(rule drift_health\), action retrain$/))
    expect(chart.querySelectorAll('[data-rule]')).toHaveLength(6)
    // The table lists the newest first, with the action.
    expect(within(chart).getAllByRole('row')[1]).toHaveTextContent(/2\.401\.70criticalretrain$/)
  })

  it('has an empty state before the first check', async () => {
    server.use(http.get('/monitor/:t/history', () => HttpResponse.json({ ticker: 'MSFT', drift: [], evals: [], next_cursor: null } satisfies MonitorHistory)))
    renderApp(<DriftHistoryChart ticker="MSFT" />)
    expect(await screen.findByText(/No drift check is stored yet/)).toBeInTheDocument()
  })

  it('has an error state with a retry', async () => {
    server.use(http.get('/monitor/:t/history', () => apiError(503, 'monitoring is not configured on this server')))
    renderApp(<DriftHistoryChart ticker="MSFT" />)
    expect(await screen.findByRole('alert')).toHaveTextContent('monitoring is not configured on this server')
    expect(screen.getByRole('button', { name: /try again/i })).toBeInTheDocument()
  })
})
