import { formatDuration, formatNumber } from '../../../lib/format'
import type { TaskProgress, TaskRecord } from '../../../types/api'

export type EpochSeen = Required<Pick<TaskProgress, 'epoch' | 'epochs'>> & Pick<TaskProgress, 'train_loss' | 'val_loss'>

export function epochOf(p: TaskProgress | undefined): EpochSeen | undefined {
  return p?.stage === 'epoch' && p.epoch !== undefined && p.epochs !== undefined
    ? { epoch: p.epoch, epochs: p.epochs, train_loss: p.train_loss, val_loss: p.val_loss }
    : undefined
}

export type ProgressView = {
  headline: string
  // 0..1 when the share of work done is known; undefined shows an indeterminate bar.
  fraction: number | undefined
  details: string[]
}

function losses(e: Pick<TaskProgress, 'train_loss' | 'val_loss'>): string[] {
  const out: string[] = []
  if (e.train_loss !== undefined) out.push(`training loss ${formatNumber(e.train_loss, 4)}`)
  if (e.val_loss !== undefined) out.push(`validation loss ${formatNumber(e.val_loss, 4)}`)
  return out
}

// What the task's record says, in words: nothing is estimated or made up. lastEpoch is the
// latest epoch event seen while polling, kept so a finished task still says how far it went.
export function describeTask(task: TaskRecord, lastEpoch: EpochSeen | undefined): ProgressView {
  const p = task.progress
  const elapsed = task.elapsed_seconds !== undefined ? [`${formatDuration(task.elapsed_seconds)} so far`] : []
  switch (task.status) {
    case 'queued':
      return {
        headline: 'Waiting to start',
        fraction: undefined,
        details: [task.detail?.includes('parent_training')
          ? 'It starts when the market model (S&P 500) has finished training.'
          : task.detail ?? 'Queued behind other trainings.'],
      }
    case 'failed':
      return { headline: task.kind === 'backtest' ? 'Backtest failed' : 'Training failed', fraction: undefined, details: [task.error ?? task.detail ?? 'No reason given.'] }
    case 'completed': {
      if (task.kind === 'backtest') {
        const took = task.elapsed_seconds
        return { headline: `Backtest done${took !== undefined ? ` in ${formatDuration(took)}` : ''}`, fraction: 1, details: ['the result is in the model\'s Backtest section'] }
      }
      const r = task.result ?? {}
      const epochs = lastEpoch
        ? `${lastEpoch.epoch} of ${lastEpoch.epochs} epochs`
        : r.epochs_run !== undefined ? `${r.epochs_run} epoch${r.epochs_run === 1 ? '' : 's'}` : undefined
      const details: string[] = []
      if (r.best_val_loss !== undefined) details.push(`best validation loss ${formatNumber(r.best_val_loss, 4)}`)
      if (r.version) details.push(`version ${r.version}`)
      if (r.promotion?.decision) {
        details.push(`${r.promotion.decision}${r.promotion.reason ? `: ${r.promotion.reason}` : ''}`)
      }
      const took = r.seconds ?? task.elapsed_seconds
      return {
        headline: `Trained${epochs ? `: ${epochs}` : ''}${took !== undefined ? ` in ${formatDuration(took)}` : ''}`,
        fraction: 1,
        details,
      }
    }
    case 'running':
      if (p?.stage === 'epoch' && p.epoch !== undefined && p.epochs !== undefined) {
        return { headline: `Epoch ${p.epoch} of ${p.epochs}`, fraction: p.epoch / p.epochs, details: [...losses(p), ...elapsed] }
      }
      if (p?.stage === 'refit' && p.epoch !== undefined && p.epochs !== undefined) {
        // after the evaluation: the same model trained again on every day, to serve
        return {
          headline: `Retraining on every day for serving: epoch ${p.epoch} of ${p.epochs}`,
          fraction: p.epochs > 0 ? p.epoch / p.epochs : undefined,
          details: [...losses(p), ...elapsed],
        }
      }
      if (p?.stage === 'data') {
        const windows = p.train_windows !== undefined
          ? [`${p.train_windows.toLocaleString('en-US')} training windows, ${(p.val_windows ?? 0).toLocaleString('en-US')} for validation, ${(p.test_windows ?? 0).toLocaleString('en-US')} for the held-out test`]
          : []
        return { headline: 'Preparing the data', fraction: 0, details: [...windows, ...elapsed] }
      }
      if (p?.stage === 'backtest' && p.done !== undefined && p.total) {
        return { headline: `Backtest: origin ${p.done.toLocaleString('en-US')} of ${p.total.toLocaleString('en-US')}`, fraction: p.done / p.total, details: elapsed }
      }
      if (p?.stage === 'saved') {
        return { headline: 'Evaluated on held-out data and saved', fraction: 1, details: [...(p.version ? [`version ${p.version}`] : []), ...elapsed] }
      }
      return { headline: 'Starting', fraction: undefined, details: elapsed }
  }
}
