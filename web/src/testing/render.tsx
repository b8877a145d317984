import { QueryClient } from '@tanstack/react-query'
import { render } from '@testing-library/react'
import type { ReactNode } from 'react'
import { Router } from 'wouter'
import { memoryLocation } from 'wouter/memory-location'
import { AppProvider } from '../app/provider'
import { shouldRetry } from '../lib/query'

// Renders ui with the app's providers, a fresh query cache and an in-memory URL. Retries follow
// the app's rule but without waiting, so error states show at once.
export function renderApp(ui: ReactNode, { path = '/' }: { path?: string } = {}) {
  const client = new QueryClient({
    defaultOptions: { queries: { retry: shouldRetry, retryDelay: 0, refetchOnWindowFocus: false }, mutations: { retry: false } },
  })
  const location = memoryLocation({ path, record: true })
  const view = render(
    <AppProvider client={client}>
      <Router hook={location.hook}>{ui}</Router>
    </AppProvider>,
  )
  return { ...view, client, location }
}
