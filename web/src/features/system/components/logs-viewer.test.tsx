import { screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { renderApp } from '../../../testing/render'
import { LogsViewer } from './logs-viewer'

describe('LogsViewer', () => {
  it('shows the log and filters it', async () => {
    renderApp(<LogsViewer />)
    const log = await screen.findByLabelText('Log lines')
    expect(log).toHaveTextContent('msg=ok')
    await userEvent.type(screen.getByLabelText('Filter'), 'error')
    expect(log).not.toHaveTextContent('msg=ok')
    expect(screen.getByText('time=2 level=ERROR msg=boom')).toHaveClass('text-down')
  })
})
