import { screen } from '@testing-library/react'
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

  it('says when the server has no such task', async () => {
    server.use(http.get('/status/gone', () => apiError(404, "Task 'gone' not found.")))
    renderApp(<TaskProgress taskId="gone" label="GONE" />)
    expect(await screen.findByRole('alert')).toHaveTextContent("Task 'gone' not found.")
  })
})
