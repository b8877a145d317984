import { useId, type ReactNode } from 'react'

// A titled section of a page. The title is the section's accessible name.
export function Card({ title, actions, children, className = '' }: {
  title: ReactNode
  actions?: ReactNode
  children: ReactNode
  className?: string
}) {
  const id = useId()
  return (
    <section aria-labelledby={id} className={`rounded-xl border border-line bg-surface p-4 sm:p-5 ${className}`}>
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id={id} className="text-base font-semibold">{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  )
}
