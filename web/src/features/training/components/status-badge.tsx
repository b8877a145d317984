import { Badge, type Tone } from '../../../components/badge'
import type { TaskStatus } from '../../../types/api'

const look: Record<TaskStatus, { tone: Tone, icon: string }> = {
  queued: { tone: 'info', icon: '…' },
  running: { tone: 'warn', icon: '▶' },
  completed: { tone: 'up', icon: '✓' },
  failed: { tone: 'down', icon: '✕' },
}

export function TaskStatusBadge({ status }: { status: TaskStatus }) {
  const l = look[status] ?? look.queued
  return <Badge tone={l.tone} icon={l.icon}>{status}</Badge>
}
