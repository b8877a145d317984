import { lazy, Suspense } from 'react'
import { Button } from '../../../components/button'
import { useAnalysisProgress } from '../api/analysis-stream'

const ReportMarkdown = lazy(() => import('./report-markdown'))

// The steps of an analysis in the words of the page, in the order they come.
const STAGES: Record<string, string> = {
  forecast: 'Forecast',
  news: 'Headlines',
  cache: 'Recent reports on the same forecast and news',
  agent: 'The analyst starts',
  performance_analyst: 'Reading the forecast',
  news_analyst: 'Reading the headlines',
  writer: 'Writing the short fields',
  critic: 'Checking them',
  finalize: 'Final checks',
  answer: 'Answering the question',
}

// The checked fields the model wrote, as the page names them.
const FIELDS: [string, string][] = [
  ['stance', 'Stance'],
  ['confidence', 'Confidence'],
  ['reasons', 'Reasons'],
  ['rationale', 'Why the stance'],
  ['narrative', 'Narrative'],
]

// A report being written, as its stream shows it: the steps so far, the model's draft (greyed:
// provisional, it may still be left out), and each part once it passed its checks. The report
// itself replaces all of it when it comes.
export function AnalysisProgress({ ticker, onCancel }: { ticker: string, onCancel: () => void }) {
  const { stages, drafts, fields } = useAnalysisProgress(ticker)
  const draft = drafts.at(-1)
  const checked = FIELDS.filter(([name]) => fields[name])
  return (
    <div className="space-y-3">
      {stages.length > 0 && (
        <ol aria-label="Steps of the analysis" className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted">
          {stages.map(({ stage, elapsedMs }, i) => (
            <li key={`${stage}-${i}`} data-stage={stage}>
              <span aria-hidden="true">{i === stages.length - 1 ? '▸ ' : '✓ '}</span>
              {STAGES[stage] ?? stage}
              <span className="tabular-nums"> {(elapsedMs / 1000).toFixed(1)} s</span>
            </li>
          ))}
        </ol>
      )}
      {fields.data && (
        <Suspense fallback={null}>
          <ReportMarkdown text={fields.data} part />
        </Suspense>
      )}
      {checked.length > 0 && (
        <ul aria-label="Checked fields" className="space-y-1 text-sm">
          {checked.map(([name, label]) => (
            <li key={name} className="whitespace-pre-line">
              <strong>{label}:</strong> {fields[name]}
            </li>
          ))}
        </ul>
      )}
      {draft && !fields.stance && (
        <figure aria-label="Draft" className="text-sm text-muted opacity-70">
          <figcaption className="text-xs">Draft, as the language model writes it (not checked yet)</figcaption>
          <p className="whitespace-pre-wrap break-words font-mono text-xs">{draft.text}</p>
        </figure>
      )}
      <Button variant="secondary" onClick={onCancel}>Cancel</Button>
    </div>
  )
}
