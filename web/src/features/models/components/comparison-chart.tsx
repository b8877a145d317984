import { BarChart } from '../../../components/charts/bar-chart'
import { ChartEmpty, ChartFigure } from '../../../components/charts/chart-figure'
import { Legend } from '../../../components/charts/line-chart'
import { formatPrice } from '../../../lib/format'
import type { ModelSummary } from '../../../types/api'
import { forecasters } from '../forecasters'

// The held-out evaluation's forecasters; the statistical models show only where the training
// scored them. Here the LSTM is the model the page is about.
const shownAs = forecasters.map((f) => (f.key === 'lstm' ? { ...f, name: 'This model' } : f))
const horizons = ['1', '5', '21', '63']

// The serving version's held-out MAE per horizon against the baselines (evaluated weights: see versions-table.tsx).
export function ComparisonChart({ model }: { model: ModelSummary }) {
  const version = model.versions.find((v) => v.serving) ?? model.versions[0]
  const mae = version?.metrics?.mae ?? {}
  const shown = shownAs.filter((f) => Object.values(mae[f.key] ?? {}).some((v) => typeof v === 'number'))
  if (!version || shown.length === 0) return <ChartEmpty>This model has no held-out evaluation on record, so there is nothing to compare.</ChartEmpty>
  const value = (key: string, h: string) => {
    const v = mae[key]?.[h]
    return typeof v === 'number' && Number.isFinite(v) ? v : null
  }
  const groups = horizons.map((h) => ({ label: `${h} day${h === '1' ? '' : 's'}`, values: shown.map((f) => value(f.key, h)) }))
  return (
    <ChartFigure
      title={`Held-out error by horizon, version ${version.version}`}
      testId="comparison-chart"
      summary="Mean absolute error of the closing price, in the ticker's currency, for this model, the forecast it serves and the baselines, measured by the model trained without these dates; lower bars are better."
      table={{ head: ['Horizon', ...shown.map((f) => f.name)], rows: groups.map((g) => [g.label, ...g.values.map((v) => (v === null ? '–' : formatPrice(v)))]) }}
    >
      <BarChart series={shown.map((f) => ({ name: f.name, fill: f.fill }))} groups={groups} xLabel="Forecast horizon (trading days)" yLabel="Mean absolute error" formatY={formatPrice} />
      <Legend items={shown.map((f) => ({ name: f.name, className: f.stroke }))} />
    </ChartFigure>
  )
}
