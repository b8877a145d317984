import { Button } from '../../../components/button'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { formatMoment } from '../../../lib/format'
import type { TaskRecord } from '../../../types/api'
import { useCancelTask } from '../api/cancel-task'
import { useTasks } from '../api/get-tasks'
import { describeTask, epochOf } from './progress-text'
import { TaskStatusBadge } from './status-badge'

// GET /tasks, with a cancel button for what has not finished.
export function TasksTable() {
  const { data, error, isPending, refetch } = useTasks()
  const cancel = useCancelTask()

  if (isPending) return <Loading>Loading tasks…</Loading>
  if (error) return <ErrorView error={error} onRetry={() => void refetch()} />
  if (data.tasks.length === 0) return <p className="text-muted">No trainings yet. Start one above, or analyze a ticker.</p>

  return (
    <div className="space-y-3">
      {cancel.error && <ErrorView error={cancel.error} />}
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm">
          <caption className="sr-only">Recent and running tasks, newest first</caption>
          <thead className="text-muted">
            <tr>
              <th scope="col" className="py-2 pr-3 font-medium">Task</th>
              <th scope="col" className="py-2 pr-3 font-medium">Status</th>
              <th scope="col" className="py-2 pr-3 font-medium">Progress</th>
              <th scope="col" className="py-2 pr-3 font-medium">Created</th>
              <th scope="col" className="py-2 font-medium"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {data.tasks.map((t) => (
              <tr key={t.task_id} className="border-t border-line align-top">
                <th scope="row" className="py-2 pr-3 font-mono font-medium">
                  {t.task_id}
                  <div className="font-sans text-xs font-normal text-muted">{t.kind.replace('_', ' ')}</div>
                </th>
                <td className="py-2 pr-3"><TaskStatusBadge status={t.status} /></td>
                <td className="py-2 pr-3"><ProgressCell task={t} /></td>
                <td className="py-2 pr-3 whitespace-nowrap">{formatMoment(t.created_at)}</td>
                <td className="py-2 text-right">
                  {(t.status === 'queued' || t.status === 'running') && (
                    <Button
                      variant="secondary"
                      aria-label={`Cancel task ${t.task_id}`}
                      disabled={cancel.isPending && cancel.variables === t.task_id}
                      onClick={() => cancel.mutate(t.task_id)}
                    >
                      Cancel
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  )
}

function ProgressCell({ task }: { task: TaskRecord }) {
  const view = describeTask(task, epochOf(task.progress))
  return (
    <>
      <div>{view.headline}</div>
      {view.details.length > 0 && <div className="text-xs text-muted">{view.details.join(' · ')}</div>}
    </>
  )
}
