import { Badge, type Tone } from '../../../components/badge'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import type { ComponentHealth } from '../../../types/api'
import { useHealth } from '../api/get-health'

const names: Record<string, string> = {
  python: 'Interpreter (embedded CPython)',
  store: 'Store (task records, leases)',
  cache_store: 'Cache store (forecasts, rate limits)',
  vector_store: 'Vector store (semantic cache)',
  llm: 'Language model (analyst)',
}

function look(status: string): { tone: Tone, icon: string } {
  if (status === 'up') return { tone: 'up', icon: '✓' }
  if (status === 'down') return { tone: 'down', icon: '✕' }
  if (status === 'unknown') return { tone: 'warn', icon: '?' }
  return { tone: 'info', icon: '●' }
}

// The facts worth a line under each component.
function facts(name: string, c: ComponentHealth): string[] {
  const out: string[] = []
  if (name === 'python' && typeof c.interpreter === 'object' && c.interpreter !== null) {
    const i = c.interpreter as { version?: string, executable?: string }
    if (i.version) out.push(`Python ${i.version.split(' ')[0]}`)
    if (i.executable) out.push(i.executable)
  }
  for (const key of ['backend', 'provider', 'model', 'detail', 'error'] as const) {
    const v = c[key]
    if (typeof v === 'string' && v !== '') out.push(v)
  }
  return out
}

export function HealthPanel() {
  const { data, error, isPending, refetch } = useHealth()
  if (isPending) return <Loading>Checking the service…</Loading>
  if (error) return <ErrorView error={error} onRetry={() => void refetch()} />
  return (
    <div className="space-y-3">
      <p className="flex items-center gap-2">
        Service {data.status === 'healthy'
          ? <Badge tone="up" icon="✓">healthy</Badge>
          : <Badge tone="warn" icon="!">{data.status}</Badge>}
        <span className="text-sm text-muted">version {data.version}</span>
      </p>
      <ul className="grid gap-3 sm:grid-cols-2">
        {Object.entries(data.components).map(([name, c]) => {
          const l = look(c.status)
          return (
            <li key={name} className="rounded-lg border border-line p-3">
              <div className="flex flex-wrap items-center justify-between gap-2">
                <span className="font-medium">{names[name] ?? name}</span>
                <Badge tone={l.tone} icon={l.icon}>{c.status}</Badge>
              </div>
              <ul className="mt-1 space-y-0.5 text-sm break-all text-muted">
                {facts(name, c).map((f) => <li key={f}>{f}</li>)}
              </ul>
            </li>
          )
        })}
      </ul>
    </div>
  )
}
