import { ChartEmpty, ChartFigure } from '../../../components/charts/chart-figure'
import { Legend, LineChart, type Mark } from '../../../components/charts/line-chart'
import { timeAxis } from '../../../components/charts/time-axis'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { formatMoment, formatNumber } from '../../../lib/format'
import type { DriftHealth, DriftReport } from '../../../types/api'
import { useHistory, type HistoryRange } from '../api/get-history'
import { TruncatedNote } from './truncated-note'

// The built-in thresholds (monitoring/drift.py, health): a score above 1 warns, above 2 is
// critical; a volatility ratio outside 0.6–1.5 warns, outside 0.4–2.5 is critical.
const scoreRules = [{ y: 1, label: 'warning above 1', stroke: 'stroke-warn' }, { y: 2, label: 'critical above 2', stroke: 'stroke-down' }]
const ratioRules = [
  { y: 2.5, label: 'critical above 2.5', stroke: 'stroke-down' }, { y: 1.5, label: 'warning above 1.5', stroke: 'stroke-warn' },
  { y: 0.6, label: 'warning below 0.6', stroke: 'stroke-warn' }, { y: 0.4, label: 'critical below 0.4', stroke: 'stroke-down' },
]
// The policy's decision on each check: its colour and a short word for the legend and table.
const decided: Record<DriftHealth, { fill: string, stroke: string, word: string }> = {
  'Healthy': { fill: 'fill-up', stroke: 'stroke-up', word: 'healthy' },
  'Degraded (Warning)': { fill: 'fill-warn', stroke: 'stroke-warn', word: 'warning' },
  'Critical (Drift Detected)': { fill: 'fill-down', stroke: 'stroke-down', word: 'critical' },
}

function decision(r: DriftReport): string {
  return `${formatMoment(r.timestamp)}: ${r.health}${r.policy?.rule ? ` (rule ${r.policy.rule})` : ''}${r.policy?.action ? `, action ${r.policy.action}` : ''}`
}

// Drift statistics of the stored checks in range against the thresholds, each check marked with
// the health the policy decided (and its action, in the mark's label and the table).
export function DriftHistoryChart({ ticker, range = 'latest' }: { ticker: string, range?: HistoryRange }) {
  const { data, error, isPending, refetch } = useHistory(ticker, range)
  if (isPending) return <Loading>Loading the drift history…</Loading>
  if (error) return <ErrorView error={error} onRetry={() => void refetch()} />
  const reports = data.drift.filter((r) => Number.isFinite(Date.parse(r.timestamp))).reverse() // oldest first
  if (reports.length === 0) {
    return <ChartEmpty>{range === 'year' ? 'No drift check in the last year.' : 'No drift check is stored yet: the history starts with the first one.'}</ChartEmpty>
  }
  const at = (r: DriftReport) => Date.parse(r.timestamp)
  const marks = (value: (r: DriftReport) => number): Mark[] => reports.map((r) => ({ x: at(r), y: value(r), label: decision(r), fill: decided[r.health]?.fill ?? 'fill-muted' }))
  const last = reports.at(-1)!
  const { formatX: day, xDomain } = timeAxis(reports.map(at))
  return (
    <ChartFigure
      title={`Drift over time, ${reports.length} check${reports.length === 1 ? '' : 's'}`}
      testId="drift-history-chart"
      summary={`From ${formatMoment(reports[0]!.timestamp)} to ${formatMoment(last.timestamp)}; the latest check scored ${formatNumber(last.drift_score, 2)} with a volatility ratio of ${formatNumber(last.volatility_index, 2)}, decided ${last.health}.`}
      table={{
        head: ['Checked', 'Drift score', 'Volatility ratio', 'Decided', 'Action'],
        rows: [...reports].reverse().map((r) => [formatMoment(r.timestamp), formatNumber(r.drift_score, 2), formatNumber(r.volatility_index, 2), decided[r.health]?.word ?? r.health, r.policy?.action || '–']),
      }}
    >
      <p className="text-xs text-muted">Drift score</p>
      <LineChart xLabel="Checked on" yLabel="Drift score" formatX={day} xDomain={xDomain} formatY={(y) => formatNumber(y, 1)} yFrom={0}
        series={[{ name: 'drift score', points: reports.map((r) => ({ x: at(r), y: r.drift_score })), stroke: 'stroke-accent', dot: 'fill-accent' }]}
        rules={scoreRules} marks={marks((r) => r.drift_score)} />
      <p className="text-xs text-muted">Volatility ratio (recent over reference)</p>
      <LineChart xLabel="Checked on" yLabel="Volatility ratio" formatX={day} xDomain={xDomain} formatY={(y) => formatNumber(y, 1)} yFrom={0}
        series={[{ name: 'volatility ratio', points: reports.map((r) => ({ x: at(r), y: r.volatility_index })), stroke: 'stroke-accent', dot: 'fill-accent' }]}
        rules={ratioRules} marks={marks((r) => r.volatility_index)} />
      <Legend items={Object.values(decided).map((d) => ({ name: `decided ${d.word}`, className: d.stroke }))} />
      {data.truncated && <TruncatedNote />}
    </ChartFigure>
  )
}
