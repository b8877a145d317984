import { BarChart } from '../../../components/charts/bar-chart'
import { ChartEmpty, ChartFigure } from '../../../components/charts/chart-figure'
import { Legend, LineChart } from '../../../components/charts/line-chart'
import { formatChange, formatMarketDate, formatNumber, formatPercent } from '../../../lib/format'
import type { BacktestResult, BacktestScore } from '../../../types/api'
import { forecasters } from '../forecasters'

function forecasterName(key: string): string {
  return forecasters.find((f) => f.key === key)?.name ?? key
}

const orNone = (v: number | null | undefined, show: (v: number) => string) => (typeof v === 'number' && Number.isFinite(v) ? show(v) : '–')

// Growth of 1 under the long/flat strategy and under buy-and-hold, day by day. x is the trading
// day's place in the range, so weekends leave no gaps.
export function EquityChart({ result }: { result: BacktestResult }) {
  const curve = result.equity
  const strat = result.strategy
  if (curve.length < 2 || !strat) {
    return <ChartEmpty>No equity curve: the strategy trades the one-day forecast, and this backtest did not score horizon 1.</ChartEmpty>
  }
  const label = (x: number) => { const p = curve[Math.round(x)]; return p ? formatMarketDate(p.date, false) : '' }
  const last = curve.at(-1)!
  const name = `Long/flat on ${forecasterName(strat.forecaster ?? '')}`
  return (
    <ChartFigure
      title="Strategy against buy-and-hold"
      testId="backtest-equity-chart"
      summary={`Growth of 1 from ${formatMarketDate(curve[0]!.date, false)} to ${formatMarketDate(last.date, false)}, after ${formatNumber(strat.cost_bps ?? 0, 3)} basis points per trade: the strategy ended at ${formatNumber(last.strategy, 3)}, buy-and-hold at ${formatNumber(last.buy_and_hold, 3)}.`}
      table={{ head: ['Date', name, 'Buy and hold'], rows: curve.map((p) => [p.date, formatNumber(p.strategy, 4), formatNumber(p.buy_and_hold, 4)]) }}
    >
      <LineChart
        series={[
          { name: 'strategy', points: curve.map((p, i) => ({ x: i, y: p.strategy })), stroke: 'stroke-accent', dot: 'fill-accent' },
          { name: 'buy and hold', points: curve.map((p, i) => ({ x: i, y: p.buy_and_hold })), stroke: 'stroke-flat', dot: 'fill-flat', dashed: true },
        ]}
        rules={[{ y: 1, label: 'start', stroke: 'stroke-line' }]}
        xLabel="Trading day"
        yLabel="Growth of 1"
        formatX={label}
        formatY={(y) => formatNumber(y, 3)}
      />
      <Legend items={[{ name, className: 'stroke-accent' }, { name: 'Buy and hold', className: 'stroke-flat', dashed: true }]} />
    </ChartFigure>
  )
}

// The strategy's figures beside buy-and-hold's.
export function StrategyTable({ result }: { result: BacktestResult }) {
  const s = result.strategy
  if (!s) return null
  const rows: [string, (v: number) => string, 'total_return' | 'annualised_volatility' | 'sharpe' | 'max_drawdown' | 'turnover'][] = [
    ['Total return', (v) => formatChange(v), 'total_return'],
    ['Volatility (annualised)', (v) => formatPercent(v, 1), 'annualised_volatility'],
    ['Sharpe ratio', (v) => formatNumber(v, 2), 'sharpe'],
    ['Maximum drawdown', (v) => formatPercent(v, 1), 'max_drawdown'],
    ['Turnover', (v) => formatNumber(v, 3), 'turnover'],
  ]
  return (
    <table className="text-left text-sm tabular-nums" data-testid="backtest-strategy-table">
      <caption className="text-left text-sm font-semibold">The strategy&apos;s figures</caption>
      <thead className="text-muted">
        <tr><th scope="col" className="pr-4 font-medium">Measure</th><th scope="col" className="pr-4 font-medium">Long/flat</th><th scope="col" className="font-medium">Buy and hold</th></tr>
      </thead>
      <tbody>
        {rows.map(([label, show, key]) => (
          <tr key={key}><th scope="row" className="pr-4 font-normal">{label}</th><td className="pr-4">{orNone(s.strategy?.[key], show)}</td><td>{orNone(s.buy_and_hold?.[key], show)}</td></tr>
        ))}
      </tbody>
    </table>
  )
}

function byHorizon(scores: BacktestScore[]) {
  const horizons = [...new Set(scores.map((s) => s.horizon))].sort((a, b) => a - b)
  const shown = forecasters.filter((f) => scores.some((s) => s.forecaster === f.key))
  const find = (h: number, key: string) => scores.find((s) => s.horizon === h && s.forecaster === key)
  return { horizons, shown, find }
}

const days = (h: number) => `${h} day${h === 1 ? '' : 's'}`

// MASE per forecaster and horizon: its error over persistence's on the same origins.
export function MaseChart({ result }: { result: BacktestResult }) {
  const { horizons, shown, find } = byHorizon(result.scores)
  const value = (h: number, key: string) => { const v = find(h, key)?.mase; return typeof v === 'number' && Number.isFinite(v) ? v : null }
  const groups = horizons.map((h) => ({ label: days(h), values: shown.map((f) => value(h, f.key)) }))
  if (groups.every((g) => g.values.every((v) => v === null))) return <ChartEmpty>No forecast in this backtest had an outcome to score.</ChartEmpty>
  return (
    <ChartFigure
      title="Error by horizon (MASE)"
      testId="backtest-mase-chart"
      summary="Each forecaster's mean absolute error divided by that of “no change” on the same origins: below 1 beats it, lower is better."
      table={{ head: ['Horizon', ...shown.map((f) => f.name)], rows: groups.map((g) => [g.label, ...g.values.map((v) => (v === null ? '–' : formatNumber(v, 3)))]) }}
    >
      <BarChart series={shown.map((f) => ({ name: f.name, fill: f.fill }))} groups={groups} xLabel="Forecast horizon (trading days)" yLabel="MASE" formatY={(y) => formatNumber(y, 2)} />
      <Legend items={shown.map((f) => ({ name: f.name, className: f.stroke }))} />
    </ChartFigure>
  )
}

// Coverage of the 80% and 95% bands and the direction's hit rate, per horizon and forecaster.
export function CoverageTable({ result }: { result: BacktestResult }) {
  const { horizons, shown, find } = byHorizon(result.scores)
  return (
    <table className="text-left text-sm tabular-nums" data-testid="backtest-coverage-table">
      <caption className="text-left text-sm font-semibold">Band coverage and direction (nominal 80% and 95%)</caption>
      <thead className="text-muted">
        <tr>
          {['Horizon', 'Forecaster', 'Scored', '80% band', '95% band', 'Direction right (95% interval)'].map((h) => <th key={h} scope="col" className="pr-4 font-medium">{h}</th>)}
        </tr>
      </thead>
      <tbody>
        {horizons.flatMap((h) => shown.map((f) => {
          const s = find(h, f.key)
          const ci = s?.directional_ci ?? []
          return (
            <tr key={`${h} ${f.key}`}>
              <th scope="row" className="pr-4 font-normal">{days(h)}</th>
              <td className="pr-4">{f.name}</td>
              <td className="pr-4">{s?.n ?? 0}</td>
              <td className="pr-4">{orNone(s?.coverage?.['80'], (v) => formatPercent(v, 1))}</td>
              <td className="pr-4">{orNone(s?.coverage?.['95'], (v) => formatPercent(v, 1))}</td>
              <td>
                {orNone(s?.directional_accuracy, (v) => formatPercent(v, 1))}
                {typeof ci[0] === 'number' && typeof ci[1] === 'number' ? ` (${formatPercent(ci[0], 0)}–${formatPercent(ci[1], 0)})` : ''}
              </td>
            </tr>
          )
        }))}
      </tbody>
    </table>
  )
}
