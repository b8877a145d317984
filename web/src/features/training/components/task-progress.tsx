import { useEffect, useEffectEvent, useState } from 'react'
import { Button } from '../../../components/button'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { LossChart } from '../../../components/charts/loss-chart'
import type { TaskRecord } from '../../../types/api'
import { useTask } from '../api/get-task'
import { describeTask, epochOf, type EpochSeen } from './progress-text'

// Live progress of one training task, read from GET /status/{task_id}. A child waiting for the
// parent shows the parent's progress inside its own.
export function TaskProgress({ taskId, label, onCompleted, onRetry }: {
  taskId: string
  label: string
  onCompleted?: ((task: TaskRecord) => void) | undefined
  // Offered when the training failed.
  onRetry?: (() => void) | undefined
}) {
  const { data: task, error, refetch } = useTask(taskId)
  // Every epoch event seen while polling, for the live loss curves; a poll may miss one, and
  // a retried run starts a new list.
  const [epochsSeen, setEpochsSeen] = useState<EpochSeen[]>([])
  const lastEpoch = epochsSeen.at(-1)
  const seen = epochOf(task?.progress)
  if (seen && (seen.epoch !== lastEpoch?.epoch || seen.epochs !== lastEpoch.epochs)) {
    setEpochsSeen(lastEpoch && seen.epoch > lastEpoch.epoch && seen.epochs === lastEpoch.epochs ? [...epochsSeen, seen] : [seen])
  }

  // Called once per completion: only a change of status counts, not each poll's new record nor
  // the caller's callback identity.
  const completed = useEffectEvent(() => {
    if (task) onCompleted?.(task)
  })
  const status = task?.status
  useEffect(() => {
    if (status === 'completed') completed()
  }, [status])

  if (error) return <ErrorView error={error} onRetry={() => void refetch()} notFound="The server has no record of this training (it may have restarted)." />
  if (!task) return <Loading>Reading the training status…</Loading>

  const view = describeTask(task, lastEpoch)
  const tone = task.status === 'failed' ? 'border-down' : 'border-line'
  return (
    <section aria-label={`Training ${label}`} data-status={task.status} className={`rounded-xl border ${tone} bg-surface p-4`}>
      <p className="text-sm text-muted">Training {label}</p>
      <p role="status" className={`text-lg font-semibold ${task.status === 'failed' ? 'text-down' : ''}`}>{view.headline}</p>
      {(task.status === 'running' || task.status === 'completed') && <Bar fraction={view.fraction} label={`Training ${label}`} />}
      {view.details.length > 0 && <p className="mt-2 text-sm text-muted">{view.details.join(' · ')}</p>}
      {(task.status === 'running' || epochsSeen.length > 0) && (
        <div className="mt-3 max-w-xl">
          <LossChart epochs={epochsSeen} title={`Loss per epoch, training ${label}`} testId="live-loss-chart" />
        </div>
      )}
      {task.status === 'failed' && onRetry && <Button variant="secondary" className="mt-3" onClick={onRetry}>Try again</Button>}
      {task.status === 'queued' && task.detail?.includes('parent_training') && (
        <div className="mt-3">
          <TaskProgress taskId="parent_training" label="the market model (S&P 500)" />
        </div>
      )}
    </section>
  )
}

function Bar({ fraction, label }: { fraction: number | undefined, label: string }) {
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={fraction === undefined ? undefined : Math.round(fraction * 100)}
      className="mt-2 h-2 overflow-hidden rounded-full bg-sunken"
    >
      {/* Unknown share: the whole bar pulses, so nothing reads as a made-up amount. */}
      <div
        className={`h-full rounded-full ${fraction === undefined ? 'w-full animate-pulse bg-accent/40' : 'bg-accent transition-[width]'}`}
        style={fraction === undefined ? undefined : { width: `${Math.max(2, fraction * 100)}%` }}
      />
    </div>
  )
}
