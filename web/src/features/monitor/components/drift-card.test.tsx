import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { drift, driftHistory, evalHistory } from '../../../testing/fixtures'
import { apiError } from '../../../testing/handlers'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import type { DriftHealth, MonitorAnswer, MonitorHistory } from '../../../types/api'
import { ModelHealth } from './model-health'

describe('drift', () => {
  it.each([
    ['Healthy', 'up'],
    ['Degraded (Warning)', 'warn'],
    ['Critical (Drift Detected)', 'down'],
  ] as [DriftHealth, string][])('styles %s as its own level', async (health, tone) => {
    server.use(http.get('/monitor/:t/drift', () => HttpResponse.json(drift(health))))
    renderApp(<ModelHealth ticker="MSFT" />)
    const badge = (await screen.findByText(health)).closest('[data-tone]')
    expect(badge).toHaveAttribute('data-tone', tone)
  })

  it('offers a check when there is no report yet, and shows its result', async () => {
    server.use(
      http.get('/monitor/:t/drift', () => apiError(404, "No drift report for 'MSFT' yet")),
      http.get('/monitor/:t/eval', () => apiError(404, "No agent evaluation for 'MSFT' yet")),
      http.post('/monitor/:t', () => HttpResponse.json({ ticker: 'MSFT', drift: drift('Degraded (Warning)'), agent_eval: { status: 'unavailable', detail: 'No stored report' } } satisfies MonitorAnswer)),
    )
    renderApp(<ModelHealth ticker="MSFT" />)
    expect(await screen.findByText(/No drift report yet/)).toBeInTheDocument()
    expect(await screen.findByText(/No evaluation yet/)).toBeInTheDocument()
    await userEvent.click(screen.getByRole('button', { name: 'Check drift and evaluation of MSFT now' }))
    expect(await screen.findByText('Degraded (Warning)')).toBeInTheDocument()
    expect(screen.getByText(/started to differ/)).toBeInTheDocument()
  })

  it('shows the evaluation with each check', async () => {
    renderApp(<ModelHealth ticker="MSFT" />)
    // The card, not the history chart's table, which names the same checks.
    const card = within(screen.getByRole('heading', { name: 'Analyst evaluation' }).parentElement!)
    expect(await card.findByText('Trustworthy')).toBeInTheDocument()
    expect(card.getByText('relevance').parentElement).toHaveTextContent('relevance failed: MSFT is not mentioned')
    expect(card.getByText('has recommendation').parentElement).toHaveTextContent('passed')
  })

  it('draws the history range the reader picks, for both charts', async () => {
    const limits: string[] = []
    server.use(http.get('/monitor/:t/history', ({ request }) => {
      const limit = new URL(request.url).searchParams.get('limit')!
      limits.push(limit)
      const evals = limit === '500' ? evalHistory : evalHistory.slice(0, 1)
      return HttpResponse.json({ ticker: 'MSFT', drift: driftHistory, evals, next_cursor: null } satisfies MonitorHistory)
    }))
    renderApp(<ModelHealth ticker="MSFT" />)
    expect(await screen.findByRole('img', { name: /^Evaluations over time, 1 evaluation\./ })).toBeInTheDocument()
    await userEvent.selectOptions(screen.getByLabelText('History shown'), 'All stored')
    expect(await screen.findByRole('img', { name: /^Evaluations over time, 3 evaluations\./ })).toBeInTheDocument()
    expect(screen.getByRole('img', { name: /^Drift over time, 3 checks\./ })).toBeInTheDocument()
    expect(limits).toEqual(['100', '500']) // one request per range, shared by both charts
  })
})
