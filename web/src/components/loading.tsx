import type { ReactNode } from 'react'

export function Loading({ children = 'Loading…' }: { children?: ReactNode }) {
  return (
    <div role="status" className="flex items-center gap-2 text-muted">
      <span aria-hidden="true" className="size-4 animate-spin rounded-full border-2 border-line border-t-accent" />
      <span>{children}</span>
    </div>
  )
}
