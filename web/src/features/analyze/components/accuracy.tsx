import { Badge } from '../../../components/badge'
import { formatMarketDate, formatPercent, formatPrice } from '../../../lib/format'
import type { ByHorizon, Evaluation, Horizon } from '../../../types/api'
import type { ChartHorizon } from './chart-data'

// Within this share the model and the no-change guess count as equally good.
const tie = 0.01

export type Verdict = { kind: 'better' | 'worse' | 'same', share: number }

// How the model's mean error compares with carrying the last close forward.
export function verdict(model: number, naive: number): Verdict {
  const share = 1 - model / naive
  if (Math.abs(share) < tie) return { kind: 'same', share }
  return { kind: share > 0 ? 'better' : 'worse', share: Math.abs(share) }
}

function at(m: ByHorizon | undefined, h: number): number | undefined {
  const v = m?.[String(h) as Horizon]
  return typeof v === 'number' ? v : undefined
}

// The served forecast: the LSTM shrunk toward "no change" on validation; older models serve the LSTM as is.
function served(evaluation: Evaluation | undefined): ByHorizon | undefined {
  return evaluation?.mae?.served ?? evaluation?.mae?.lstm
}

// The model's held-out accuracy against the naive baseline, in words a non-expert reads, led by
// the prediction's one-line summary.
export function Accuracy({ evaluation, horizon, summary }: { evaluation: Evaluation | undefined, horizon: ChartHorizon, summary?: string }) {
  const model = at(served(evaluation), horizon)
  const naive = at(evaluation?.mae?.naive, horizon)
  if (!evaluation || model === undefined || naive === undefined || naive === 0) {
    return (
      <div className="space-y-2">
        {summary && <p className="font-medium">{summary}</p>}
        <p className="text-muted">This model has no held-out evaluation on record, so how good it is is unknown.</p>
      </div>
    )
  }
  const v = verdict(model, naive)
  const period = evaluation.test_period
  const coverage = evaluation.interval_coverage
  const target = evaluation.interval_coverage_target ?? 0.8
  const horizonsShown = (evaluation.horizons ?? [1, 5, 21, 63]).filter((h) => at(served(evaluation), h) !== undefined)

  return (
    <div className="space-y-3">
      {summary && <p className="font-medium">{summary}</p>}
      <p>
        {period
          ? <>Tested on {period.windows.toLocaleString('en-US')} forecasts for dates it never saw in training ({formatMarketDate(period.from, false)} to {formatMarketDate(period.to, false)}), its </>
          : <>On held-out dates, its </>}
        {horizon}-day forecasts missed the real closing price by <strong>{formatPrice(model)}</strong> on average.
        Simply assuming the price stays where it is missed by <strong>{formatPrice(naive)}</strong>.
      </p>
      <p className="flex flex-wrap items-center gap-2">
        {v.kind === 'better' && <Badge tone="up" icon="▲">{formatPercent(v.share)} more accurate than “no change”</Badge>}
        {v.kind === 'worse' && <Badge tone="warn" icon="!">{formatPercent(v.share)} less accurate than “no change”</Badge>}
        {v.kind === 'same' && <Badge tone="flat" icon="=">As accurate as “no change”</Badge>}
        <span className="text-sm text-muted">
          {v.kind === 'better' && 'The model has done better than the simplest guess at this horizon.'}
          {v.kind === 'worse' && 'Give this forecast little weight: guessing “no change” has done better.'}
          {v.kind === 'same' && 'The model adds little over the simplest guess at this horizon.'}
        </span>
      </p>
      {evaluation.serving_weights === 'refit' && (
        <p className="text-sm text-muted">
          These figures are of the model trained without those dates; the forecast above comes from the same model
          retrained on every day up to the last close.
        </p>
      )}
      {coverage != null && (
        <p className="text-sm">
          Its 80% range held the real price {formatPercent(coverage)} of the time (the aim is {formatPercent(target)}).
        </p>
      )}
      <details className="text-sm">
        <summary className="cursor-pointer text-accent">Error by horizon</summary>
        <table className="mt-2 text-left tabular-nums">
          <caption className="sr-only">Mean absolute error of the close by forecast horizon</caption>
          <thead className="text-muted">
            <tr>
              <th scope="col" className="pr-4 font-medium">Trading days ahead</th>
              <th scope="col" className="pr-4 font-medium">Model</th>
              <th scope="col" className="font-medium">“No change”</th>
            </tr>
          </thead>
          <tbody>
            {horizonsShown.map((h) => (
              <tr key={h}>
                <th scope="row" className="pr-4 font-normal">{h}</th>
                <td className="pr-4">{formatPrice(at(served(evaluation), h) ?? NaN)}</td>
                <td>{formatPrice(at(evaluation.mae?.naive, h) ?? NaN)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  )
}
