import { describe, expect, it } from 'vitest'
import { completedTask, task } from '../../../testing/fixtures'
import { describeTask } from './progress-text'

describe('describeTask', () => {
  it('says which epoch runs, with its losses', () => {
    const v = describeTask(task({ progress: { stage: 'epoch', epoch: 3, epochs: 10, train_loss: 0.5, val_loss: 0.25 }, elapsed_seconds: 12 }), undefined)
    expect(v).toEqual({ headline: 'Epoch 3 of 10', fraction: 0.3, details: ['training loss 0.5000', 'validation loss 0.2500', '12 s so far'] })
  })

  it('says how many origins a backtest has forecast', () => {
    const v = describeTask(task({ task_id: 'backtest_msft', kind: 'backtest', progress: { stage: 'backtest', done: 21, total: 1254 }, elapsed_seconds: 3 }), undefined)
    expect(v).toEqual({ headline: 'Backtest: origin 21 of 1,254', fraction: 21 / 1254, details: ['3 s so far'] })
    const done = task({ task_id: 'backtest_msft', kind: 'backtest', status: 'completed', elapsed_seconds: 7 })
    expect(describeTask(done, undefined)).toMatchObject({ headline: 'Backtest done in 7 s', fraction: 1 })
    expect(describeTask({ ...done, status: 'failed', error: 'cancelled' }, undefined)).toMatchObject({ headline: 'Backtest failed', details: ['cancelled'] })
  })

  it('says when the model is retrained on every day for serving', () => {
    const v = describeTask(task({ progress: { stage: 'refit', epoch: 1, epochs: 4, train_loss: 0.5 }, elapsed_seconds: 30 }), undefined)
    expect(v).toEqual({ headline: 'Retraining on every day for serving: epoch 1 of 4', fraction: 0.25, details: ['training loss 0.5000', '30 s so far'] })
  })

  it('says a child waits for the market model', () => {
    const v = describeTask(task({ status: 'queued', detail: 'waiting for parent_training to complete' }), undefined)
    expect(v.headline).toBe('Waiting to start')
    expect(v.details[0]).toMatch(/market model/)
  })

  it('keeps the last epoch seen once the task is done', () => {
    expect(describeTask(completedTask, { epoch: 2, epochs: 2 }).headline).toBe('Trained: 2 of 2 epochs in 4 s')
    const v = describeTask(completedTask, undefined)
    expect(v.headline).toBe('Trained: 2 epochs in 4 s')
    expect(v.details).toContain('promoted: first model: no serving version')
  })

  it('gives the reason of a failure', () => {
    expect(describeTask(task({ status: 'failed', error: 'cancelled' }), undefined)).toMatchObject({ headline: 'Training failed', details: ['cancelled'] })
  })
})
