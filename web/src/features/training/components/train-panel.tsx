import { useId, useState, type FormEvent } from 'react'
import { Button } from '../../../components/button'
import { ErrorView } from '../../../components/error-view'
import { checkTicker } from '../../../lib/ticker'
import type { TaskRecord, TrainAnswer } from '../../../types/api'
import { useTrainChild } from '../api/train-child'
import { useTrainParent } from '../api/train-parent'
import { TaskProgress } from './task-progress'

// Start a training (the market model, or a ticker's model) and watch it.
export function TrainPanel({ onTrained }: { onTrained?: (task: TaskRecord) => void }) {
  const parent = useTrainParent()
  const child = useTrainChild()
  const [ticker, setTicker] = useState('')
  const [epochs, setEpochs] = useState('')
  const [force, setForce] = useState(false)
  const [problem, setProblem] = useState<string>()
  const [started, setStarted] = useState<{ answer: TrainAnswer, label: string }>()
  const ids = { ticker: useId(), epochs: useId(), problem: useId() }

  const params = () => ({ ...(epochs ? { epochs: Number(epochs) } : {}), ...(force ? { force } : {}) })

  function submitChild(e: FormEvent) {
    e.preventDefault()
    const check = checkTicker(ticker)
    if (!check.ok) {
      setProblem(check.reason)
      return
    }
    setProblem(undefined)
    child.mutate({ ticker: check.ticker, ...params() }, {
      // started_parent: the child's own task waits behind the parent's, and shows it.
      onSuccess: (answer) => setStarted({
        answer: answer.status === 'started_parent' ? { ...answer, task_id: check.ticker.toLowerCase() } : answer,
        label: check.ticker,
      }),
    })
  }

  const error = parent.error ?? child.error
  return (
    <div className="space-y-4">
      <form onSubmit={submitChild} noValidate className="flex flex-wrap items-end gap-3">
        <div className="flex flex-col gap-1">
          <label htmlFor={ids.ticker} className="text-sm font-medium">Ticker</label>
          <input
            id={ids.ticker}
            value={ticker}
            onChange={(e) => setTicker(e.target.value)}
            aria-invalid={problem !== undefined}
            aria-describedby={problem ? ids.problem : undefined}
            autoCapitalize="characters"
            autoComplete="off"
            spellCheck={false}
            className="min-h-10 w-32 rounded-lg border border-line bg-surface px-3 uppercase"
          />
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor={ids.epochs} className="text-sm font-medium">Epochs <span className="font-normal text-muted">(optional)</span></label>
          <input
            id={ids.epochs}
            type="number"
            min={1}
            max={500}
            inputMode="numeric"
            value={epochs}
            onChange={(e) => setEpochs(e.target.value)}
            className="min-h-10 w-24 rounded-lg border border-line bg-surface px-3"
          />
        </div>
        <label className="flex min-h-10 items-center gap-2 text-sm">
          <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} className="size-4" />
          Retrain although a model exists
        </label>
        <Button type="submit" disabled={child.isPending}>Train ticker model</Button>
        <Button
          variant="secondary"
          disabled={parent.isPending}
          onClick={() => parent.mutate(params(), { onSuccess: (answer) => setStarted({ answer, label: 'the market model (S&P 500)' }) })}
        >
          Train market model
        </Button>
      </form>
      {problem && <p id={ids.problem} role="alert" className="text-sm text-down">{problem}</p>}
      {error && <ErrorView error={error} />}
      {started && started.answer.status === 'completed' && (
        <p role="status" className="text-sm text-muted">
          {started.answer.detail ?? 'This model is already trained.'} Tick “Retrain” to train it again.
        </p>
      )}
      {started && started.answer.status !== 'completed' && (
        <div className="space-y-2">
          {started.answer.detail && <p className="text-sm text-muted">{started.answer.detail}</p>}
          <TaskProgress key={started.answer.task_id} taskId={started.answer.task_id} label={started.label} onCompleted={onTrained} />
        </div>
      )}
    </div>
  )
}
