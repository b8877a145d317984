import '@testing-library/jest-dom/vitest'
import { cleanup } from '@testing-library/react'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { server } from './server'

// Any request without a handler fails the test: the app must call only the API it knows.
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => {
  cleanup()
  server.resetHandlers()
  globalThis.localStorage?.clear()
  globalThis.sessionStorage?.clear()
})
afterAll(() => server.close())
