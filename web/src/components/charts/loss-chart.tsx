import { formatNumber } from '../../lib/format'
import { ChartEmpty, ChartFigure } from './chart-figure'
import { Legend, LineChart } from './line-chart'

export type EpochLoss = { epoch: number, train_loss?: number | undefined, val_loss?: number | undefined }

// Training and validation loss per epoch: the run log's after a training, the progress
// events seen so far while one runs. Shared by the model's runs and the live progress.
export function LossChart({ epochs, title, testId }: { epochs: EpochLoss[], title: string, testId?: string }) {
  const train = epochs.flatMap((e) => e.train_loss === undefined ? [] : [{ x: e.epoch, y: e.train_loss }])
  const val = epochs.flatMap((e) => e.val_loss === undefined ? [] : [{ x: e.epoch, y: e.val_loss }])
  if (train.length + val.length === 0) return <ChartEmpty>No epoch has finished yet, so there are no losses to draw.</ChartEmpty>
  const best = val.reduce<(typeof val)[number] | undefined>((b, p) => (b === undefined || p.y < b.y ? p : b), undefined)
  return (
    <ChartFigure
      title={title}
      testId={testId}
      summary={`${epochs.length} epoch${epochs.length === 1 ? '' : 's'}${best ? `; the lowest validation loss, ${formatNumber(best.y, 4)}, came at epoch ${best.x}` : ''}.`}
      table={{ head: ['Epoch', 'Training loss', 'Validation loss'], rows: epochs.map((e) => [e.epoch, e.train_loss === undefined ? '–' : formatNumber(e.train_loss, 4), e.val_loss === undefined ? '–' : formatNumber(e.val_loss, 4)]) }}
    >
      <LineChart
        xLabel="Epoch"
        yLabel="Loss"
        formatX={(x) => (Number.isInteger(x) ? String(x) : '')}
        formatY={(y) => formatNumber(y, 3)}
        series={[
          { name: 'training', points: train, stroke: 'stroke-accent', dot: 'fill-accent' },
          { name: 'validation', points: val, stroke: 'stroke-forecast', dot: 'fill-forecast', dashed: true },
        ]}
        marks={best ? [{ ...best, label: `lowest validation loss, epoch ${best.x}`, fill: 'fill-up' }] : []}
      />
      <Legend items={[{ name: 'Training loss', className: 'stroke-accent' }, { name: 'Validation loss', className: 'stroke-forecast', dashed: true }]} />
    </ChartFigure>
  )
}
