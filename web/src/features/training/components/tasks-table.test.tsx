import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { task } from '../../../testing/fixtures'
import { apiError } from '../../../testing/handlers'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import type { CancelAnswer } from '../../../types/api'
import { TasksTable } from './tasks-table'

describe('TasksTable', () => {
  it('lists tasks with their status and cancels a running one', async () => {
    const cancelled: string[] = []
    server.use(http.delete('/tasks/:id', ({ params }) => {
      cancelled.push(String(params.id))
      return HttpResponse.json({ status: 'cancelling', task_id: String(params.id), task: task({ task_id: String(params.id) }) } satisfies CancelAnswer)
    }))
    renderApp(<TasksTable />)
    const rows = await screen.findAllByRole('row')
    expect(rows).toHaveLength(3)
    expect(within(rows[1]!).getByText('running')).toBeInTheDocument()
    expect(within(rows[2]!).getByText('completed')).toBeInTheDocument()
    // Only what has not finished can be cancelled.
    expect(screen.getAllByRole('button', { name: /Cancel task/ })).toHaveLength(1)
    await userEvent.click(screen.getByRole('button', { name: 'Cancel task msft' }))
    expect(cancelled).toEqual(['msft'])
  })

  it('shows why a cancel was refused', async () => {
    server.use(http.delete('/tasks/:id', () => apiError(409, "Task 'msft' already completed.")))
    renderApp(<TasksTable />)
    await userEvent.click(await screen.findByRole('button', { name: 'Cancel task msft' }))
    expect(await screen.findByRole('alert')).toHaveTextContent("Task 'msft' already completed.")
  })
})
