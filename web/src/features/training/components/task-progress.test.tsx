import { screen, within } from '@testing-library/react'
import { http, HttpResponse } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { completedTask, task } from '../../../testing/fixtures'
import { apiError } from '../../../testing/handlers'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import { TaskProgress } from './task-progress'

describe('TaskProgress', () => {
  it('polls until the task completes, then calls back once', async () => {
    let calls = 0
    server.use(http.get('/status/aapl', () => {
      calls++
      return HttpResponse.json(calls < 2 ? task({ task_id: 'aapl', progress: { stage: 'epoch', epoch: 1, epochs: 1 } }) : { ...completedTask, task_id: 'aapl' })
    }))
    const onCompleted = vi.fn()
    renderApp(<TaskProgress taskId="aapl" label="AAPL" onCompleted={onCompleted} />)
    expect(await screen.findByText('Epoch 1 of 1')).toBeInTheDocument()
    expect(await screen.findByText(/Trained: 1 of 1 epochs/, {}, { timeout: 4000 })).toBeInTheDocument()
    expect(onCompleted).toHaveBeenCalledTimes(1)
    expect(onCompleted.mock.calls[0]![0]).toMatchObject({ task_id: 'aapl', status: 'completed' })
  })

  it('draws the losses of every epoch it sees, live', async () => {
    let calls = 0
    server.use(http.get('/status/live', () => {
      calls++
      if (calls === 1) return HttpResponse.json(task({ task_id: 'live', progress: { stage: 'data', train_windows: 10 } }))
      const epoch = Math.min(calls - 1, 3)
      return HttpResponse.json(task({ task_id: 'live', progress: { stage: 'epoch', epoch, epochs: 3, train_loss: 1 / epoch, val_loss: 1.2 / epoch } }))
    }))
    renderApp(<TaskProgress taskId="live" label="LIVE" />)
    expect(await screen.findByText(/No epoch has finished yet/)).toBeInTheDocument()
    expect(await screen.findByText('Epoch 3 of 3', {}, { timeout: 6000 })).toBeInTheDocument()
    const chart = await screen.findByTestId('live-loss-chart')
    expect(within(chart).getByRole('img')).toHaveAccessibleName(/Loss per epoch, training LIVE\. 3 epochs; the lowest validation loss, 0\.4000, came at epoch 3/)
    expect(within(chart).getAllByRole('row').map((r) => r.textContent)).toEqual(['EpochTraining lossValidation loss', '11.00001.2000', '20.50000.6000', '30.33330.4000'])
    expect(chart.querySelector('[data-series="validation"]')?.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L[\d.]+,[\d.]+L[\d.]+,[\d.]+$/)
  }, 10_000)

  it('says when the server has no such task', async () => {
    server.use(http.get('/status/gone', () => apiError(404, "Task 'gone' not found.")))
    renderApp(<TaskProgress taskId="gone" label="GONE" />)
    expect(await screen.findByRole('alert')).toHaveTextContent("Task 'gone' not found.")
  })
})
