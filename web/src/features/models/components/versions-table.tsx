import { Badge } from '../../../components/badge'
import { formatMarketDate, formatMoment, formatPercent } from '../../../lib/format'
import type { ModelSummary } from '../../../types/api'
import { skillWords } from './skill'

// Accuracy and range are always the evaluated weights' (trained without the held-out dates).
function weightsWords(weights: string | undefined): string {
  return weights === 'refit' ? 'retrained on every day' : 'as evaluated'
}

export function VersionsTable({ model }: { model: ModelSummary }) {
  if (model.versions.length === 0) return <p className="text-muted">No versions.</p>
  return (
    <div className="overflow-x-auto">
      <p className="mb-1 text-xs text-muted">
        Accuracy and range are measured on held-out dates by the model trained without them; “retrained on every
        day” versions then serve the same model refitted up to the last close.
      </p>
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Versions of the {model.ticker} model, newest first</caption>
        <thead className="text-muted">
          <tr>
            <th scope="col" className="py-1 pr-3 font-medium">Version</th>
            <th scope="col" className="py-1 pr-3 font-medium">Trained</th>
            <th scope="col" className="py-1 pr-3 font-medium">Data to</th>
            <th scope="col" className="py-1 pr-3 font-medium">Held-out accuracy</th>
            <th scope="col" className="py-1 pr-3 font-medium">80% range held</th>
            <th scope="col" className="py-1 font-medium">Weights served</th>
          </tr>
        </thead>
        <tbody>
          {model.versions.map((v) => (
            <tr key={v.version} className="border-t border-line">
              <th scope="row" className="py-1 pr-3 font-mono text-xs font-normal">
                {v.version} {v.serving && <Badge tone="up" icon="●">serving</Badge>}
              </th>
              <td className="py-1 pr-3 whitespace-nowrap">{v.created ? formatMoment(v.created) : '–'}</td>
              <td className="py-1 pr-3 whitespace-nowrap">{v.data_as_of ? formatMarketDate(v.data_as_of, false) : '–'}</td>
              <td className="py-1 pr-3">{skillWords(v.metrics?.served_skill_vs_naive ?? v.metrics?.skill_vs_naive)}</td>
              <td className="py-1 pr-3">{v.metrics?.interval_coverage != null ? formatPercent(v.metrics.interval_coverage) : '–'}</td>
              <td className="py-1">{weightsWords(v.metrics?.serving_weights)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
