import { screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { renderApp } from '../../../testing/render'
import { HealthPanel } from './health-panel'

describe('HealthPanel', () => {
  it('shows every component with its status', async () => {
    renderApp(<HealthPanel />)
    const item = (name: RegExp) => screen.getByText(name).closest('li') as HTMLElement
    await screen.findByText(/Interpreter/)
    expect(item(/Interpreter/)).toHaveTextContent('Python 3.11.7')
    expect(item(/Store \(/)).toHaveTextContent('memory')
    expect(item(/Vector store/)).toHaveTextContent('down')
    expect(item(/Vector store/)).toHaveTextContent('connection refused')
    expect(item(/Language model/)).toHaveTextContent('SmolLM2')
  })
})
