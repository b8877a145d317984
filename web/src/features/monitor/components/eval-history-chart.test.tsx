import { screen, within } from '@testing-library/react'
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { evalHistory } from '../../../testing/fixtures'
import { apiError } from '../../../testing/handlers'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import type { MonitorHistory } from '../../../types/api'
import { EvalHistoryChart } from './eval-history-chart'

const answer = (evals: MonitorHistory['evals']) => http.get('/monitor/:t/history', () => HttpResponse.json({ ticker: 'MSFT', drift: [], evals, next_cursor: null } satisfies MonitorHistory))

describe('EvalHistoryChart', () => {
  it('draws each evaluation\'s score against the pass mark, marked passed or failed', async () => {
    server.use(answer(evalHistory))
    renderApp(<EvalHistoryChart ticker="MSFT" />)
    const chart = await screen.findByTestId('eval-history-chart')
    expect(within(chart).getByRole('img')).toHaveAccessibleName(/^Evaluations over time, 3 evaluations\. .*; 2 of 3 passed; the latest scored 74%, Trustworthy\.$/)
    const marks = [...chart.querySelectorAll('circle[data-mark]')]
    expect(marks.map((m) => m.getAttribute('class'))).toEqual(['fill-up', 'fill-down', 'fill-up']) // oldest first
    expect(marks[1]).toHaveAttribute('data-mark', expect.stringMatching(/: Questionable, score 42%, failed relevance, has_recommendation$/))
    expect(chart.querySelector('[data-rule]')).toHaveAttribute('data-rule', 'passes above 60%')
    expect(chart.querySelector('path[data-series="overall score"]')?.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L[\d.]+,[\d.]+L[\d.]+,[\d.]+$/)
    // The table lists the newest first, with the checks that failed.
    const rows = within(chart).getAllByRole('row')
    expect(rows).toHaveLength(4)
    expect(rows[1]).toHaveTextContent(/74%Trustworthyrelevance$/)
    expect(rows[2]).toHaveTextContent(/42%Questionablerelevance, has_recommendation$/)
  })

  it('has an empty state before the first evaluation', async () => {
    server.use(answer([]))
    renderApp(<EvalHistoryChart ticker="MSFT" />)
    expect(await screen.findByText(/No evaluation is stored yet/)).toBeInTheDocument()
    expect(screen.queryByTestId('eval-history-chart')).not.toBeInTheDocument()
  })

  it('has an error state with a retry', async () => {
    server.use(http.get('/monitor/:t/history', () => apiError(503, 'monitoring is not configured on this server')))
    renderApp(<EvalHistoryChart ticker="MSFT" />)
    expect(await screen.findByRole('alert')).toHaveTextContent('monitoring is not configured on this server')
    expect(screen.getByRole('button', { name: /try again/i })).toBeInTheDocument()
  })
})
