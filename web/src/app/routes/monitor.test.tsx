import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { drift } from '../../testing/fixtures'
import { renderApp } from '../../testing/render'
import { server } from '../../testing/server'
import { AppRoutes } from '../app'

describe('Monitor page', () => {
  it('shows each model with its versions, drift, evaluation and runs', async () => {
    server.use(http.get('/monitor/:t/drift', ({ params }) =>
      HttpResponse.json(drift(params.t === 'parent' ? 'Critical (Drift Detected)' : 'Healthy'))))
    renderApp(<AppRoutes />, { path: '/monitor' })

    const child = await screen.findByRole('article', { name: /^MSFT/ })
    const parent = screen.getByRole('article', { name: /^Market model \(\^GSPC\)/ })
    expect(within(child).getByText('serving')).toBeInTheDocument()
    expect(within(child).getByText('10% more accurate than “no change”')).toBeInTheDocument()
    expect((await within(child).findByText('Healthy')).closest('[data-tone]')).toHaveAttribute('data-tone', 'up')
    expect((await within(parent).findByText('Critical (Drift Detected)')).closest('[data-tone]')).toHaveAttribute('data-tone', 'down')
    const evaluation = within(within(child).getByRole('heading', { name: 'Analyst evaluation' }).parentElement!)
    expect(await evaluation.findByText('Trustworthy')).toBeInTheDocument()

    await userEvent.click(within(child).getByText('Training runs and promotion decisions'))
    expect(await within(child).findByText('first model: no serving version')).toBeInTheDocument()
  })

  it('shows the tasks, the cache and the log', async () => {
    renderApp(<AppRoutes />, { path: '/monitor' })
    expect(await screen.findByRole('button', { name: 'Cancel task msft' })).toBeInTheDocument()
    expect(await screen.findByText('MSFT', { selector: 'summary' })).toBeInTheDocument()
    expect(await screen.findByLabelText('Log lines')).toHaveTextContent('msg=boom')
  })
})
