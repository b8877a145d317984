import { useEffect, useRef, type ReactNode } from 'react'
import { Link, useLocation } from 'wouter'
import { Disclaimer } from '../components/disclaimer'
import { ThemeSelect } from '../components/theme-select'

const pages = [
  { href: '/', name: 'Analyze', match: (p: string) => p === '/' || p.startsWith('/analyze') },
  { href: '/monitor', name: 'Monitor', match: (p: string) => p.startsWith('/monitor') },
  { href: '/system', name: 'System', match: (p: string) => p.startsWith('/system') },
]

export function Layout({ children }: { children: ReactNode }) {
  const [location] = useLocation()
  const main = useRef<HTMLElement>(null)
  const first = useRef(true)

  // After a navigation, focus moves to the new page's heading, as a page load would.
  useEffect(() => {
    if (first.current) {
      first.current = false
      return
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus()
  }, [location])

  return (
    <div className="flex min-h-screen flex-col">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-10 focus:rounded focus:bg-surface focus:p-2">
        Skip to content
      </a>
      <header className="border-b border-line bg-surface">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-x-6 gap-y-2 px-4 py-3">
          <Link href="/" className="flex items-center gap-2 text-lg font-bold">
            <svg aria-hidden="true" viewBox="0 0 16 16" className="size-5 text-accent"><path d="M1 12l4-4 3 3 6-7" fill="none" stroke="currentColor" strokeWidth="2" /></svg>
            stockagent
          </Link>
          <nav aria-label="Main" className="order-last w-full sm:order-none sm:w-auto">
            <ul className="flex gap-1">
              {pages.map((p) => {
                const current = p.match(location)
                return (
                  <li key={p.href}>
                    <Link
                      href={p.href}
                      aria-current={current ? 'page' : undefined}
                      className={`inline-flex min-h-10 items-center rounded-lg px-3 font-medium ${current ? 'bg-accent text-accent-fg' : 'hover:bg-sunken'}`}
                    >
                      {p.name}
                    </Link>
                  </li>
                )
              })}
            </ul>
          </nav>
          <ThemeSelect />
        </div>
      </header>
      <main id="main" ref={main} className="mx-auto w-full max-w-6xl flex-1 px-4 py-6">
        {children}
      </main>
      <footer className="border-t border-line">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-3 px-4 py-4">
          <Disclaimer />
          <p className="flex gap-4 text-sm">
            <a href="/docs" className="text-accent underline">API docs</a>
            <a href="/metrics" className="text-accent underline">Metrics</a>
          </p>
        </div>
      </footer>
    </div>
  )
}
