import { screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import type { TrainAnswer } from '../../../types/api'
import { TrainPanel } from './train-panel'

describe('TrainPanel', () => {
  it('starts a child training with its settings and shows its progress', async () => {
    let body: unknown
    server.use(http.post('/train-child', async ({ request }) => {
      body = await request.json()
      return HttpResponse.json({ status: 'started_parent', task_id: 'parent_training', detail: 'the parent trains first' } satisfies TrainAnswer)
    }))
    renderApp(<TrainPanel />)
    await userEvent.type(screen.getByLabelText('Ticker'), 'aapl')
    await userEvent.type(screen.getByLabelText(/Epochs/), '2')
    await userEvent.click(screen.getByLabelText(/Retrain/))
    await userEvent.click(screen.getByRole('button', { name: 'Train ticker model' }))
    expect(body).toEqual({ ticker: 'AAPL', epochs: 2, force: true })
    // started_parent: the child's own task is followed, which shows the parent's inside it.
    expect(await screen.findByRole('region', { name: 'Training AAPL' })).toBeInTheDocument()
  })

  it('refuses a bad ticker before any request', async () => {
    let asked = false
    server.use(http.post('/train-child', () => { asked = true; return HttpResponse.json({}) }))
    renderApp(<TrainPanel />)
    await userEvent.type(screen.getByLabelText('Ticker'), 'PARENT')
    await userEvent.click(screen.getByRole('button', { name: 'Train ticker model' }))
    expect(screen.getByRole('alert')).toHaveTextContent('reserved')
    expect(asked).toBe(false)
  })
})
