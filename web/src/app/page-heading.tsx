import type { ReactNode } from 'react'

// The page's one h1 (focused after a navigation) and its title in the browser's tab.
export function PageHeading({ title, children }: { title: string, children?: ReactNode }) {
  return (
    <div className="mb-5">
      <title>{`${title} · stockagent`}</title>
      <h1 tabIndex={-1} className="text-2xl font-bold outline-none">{title}</h1>
      {children && <p className="mt-1 text-muted">{children}</p>}
    </div>
  )
}
