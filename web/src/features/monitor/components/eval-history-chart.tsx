import { ChartEmpty, ChartFigure } from '../../../components/charts/chart-figure'
import { Legend, LineChart, type Mark } from '../../../components/charts/line-chart'
import { timeAxis } from '../../../components/charts/time-axis'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { formatMoment, formatPercent } from '../../../lib/format'
import type { AgentEval } from '../../../types/api'
import { useHistory, type HistoryRange } from '../api/get-history'
import { TruncatedNote } from './truncated-note'

// A report is Trustworthy above this overall score, else Questionable (monitoring/evaluation.py).
const passScore = 0.6
const verdicts = {
  pass: { fill: 'fill-up', stroke: 'stroke-up', word: 'passed (trustworthy)' },
  fail: { fill: 'fill-down', stroke: 'stroke-down', word: 'failed (questionable)' },
}

const at = (e: AgentEval) => Date.parse(e.metrics.timestamp)
const passed = (e: AgentEval) => e.metrics.status === 'Trustworthy'
const failedChecks = (e: AgentEval) => e.metrics.failed_checks ?? Object.entries(e.metrics.checks).filter(([, ok]) => !ok).map(([name]) => name)

function verdict(e: AgentEval): string {
  const failed = failedChecks(e)
  return `${formatMoment(e.metrics.timestamp)}: ${e.metrics.status}, score ${formatPercent(e.metrics.overall_score)}${failed.length ? `, failed ${failed.join(', ')}` : ''}`
}

// The overall score of the analyst's evaluated reports in range against the pass mark, each
// evaluation marked passed or failed (with its failed checks in the mark's label and the table).
export function EvalHistoryChart({ ticker, range = 'latest' }: { ticker: string, range?: HistoryRange }) {
  const { data, error, isPending, refetch } = useHistory(ticker, range)
  if (isPending) return <Loading>Loading the evaluation history…</Loading>
  if (error) return <ErrorView error={error} onRetry={() => void refetch()} />
  const evals = data.evals.filter((e) => Number.isFinite(at(e))).reverse() // oldest first
  if (evals.length === 0) {
    return <ChartEmpty>{range === 'year' ? 'No evaluation in the last year.' : 'No evaluation is stored yet: “Check now” scores the analyst\'s latest report.'}</ChartEmpty>
  }
  const last = evals.at(-1)!
  const passes = evals.filter(passed).length
  const marks: Mark[] = evals.map((e) => ({ x: at(e), y: e.metrics.overall_score, label: verdict(e), fill: verdicts[passed(e) ? 'pass' : 'fail'].fill }))
  const { formatX, xDomain } = timeAxis(evals.map(at))
  return (
    <ChartFigure
      title={`Evaluations over time, ${evals.length} evaluation${evals.length === 1 ? '' : 's'}`}
      testId="eval-history-chart"
      summary={`From ${formatMoment(evals[0]!.metrics.timestamp)} to ${formatMoment(last.metrics.timestamp)}; ${passes} of ${evals.length} passed; the latest scored ${formatPercent(last.metrics.overall_score)}, ${last.metrics.status}.`}
      table={{
        head: ['Evaluated', 'Score', 'Verdict', 'Failed checks'],
        rows: [...evals].reverse().map((e) => [formatMoment(e.metrics.timestamp), formatPercent(e.metrics.overall_score), e.metrics.status, failedChecks(e).join(', ') || '–']),
      }}
    >
      <LineChart xLabel="Evaluated on" yLabel="Overall score" formatX={formatX} xDomain={xDomain} formatY={(y) => formatPercent(y)} yFrom={0}
        series={[{ name: 'overall score', points: evals.map((e) => ({ x: at(e), y: e.metrics.overall_score })), stroke: 'stroke-accent', dot: 'fill-accent' }]}
        rules={[{ y: passScore, label: `passes above ${formatPercent(passScore)}`, stroke: 'stroke-up' }]} marks={marks} />
      <Legend items={Object.values(verdicts).map((v) => ({ name: v.word, className: v.stroke }))} />
      {data.truncated && <TruncatedNote />}
    </ChartFigure>
  )
}
