import { QueryClientProvider, type QueryClient } from '@tanstack/react-query'
import { useState, type ReactNode } from 'react'
import { makeQueryClient } from '../lib/query'

export function AppProvider({ children, client }: { children: ReactNode, client?: QueryClient }) {
  const [queryClient] = useState(() => client ?? makeQueryClient())
  return <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
}
