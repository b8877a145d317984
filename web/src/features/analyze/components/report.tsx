import { useQueryClient } from '@tanstack/react-query'
import { lazy, Suspense } from 'react'
import { Button } from '../../../components/button'
import { Elapsed } from '../../../components/elapsed'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { Skeleton } from '../../../components/skeleton'
import { formatMoment } from '../../../lib/format'
import { isTraining } from '../../../types/api'
import { analysisQueryOptions, useAnalysis } from '../api/analyze'
import { AnalysisProgress } from './analysis-progress'

// The markdown renderer loads on its own, with the first report.
const ReportMarkdown = lazy(() => import('./report-markdown'))

// The analyst's report, which takes up to a minute after the forecast is on screen: the wait
// is said in words, with the time so far, and the stream shows the report's making (steps, the
// model's draft, the parts that passed their checks), so that it does not read as a failure.
// Cancel (or leaving the page) aborts the request, which stops the run on the server.
export function Report({ ticker }: { ticker: string }) {
  const queryClient = useQueryClient()
  const { data: analysis, error, isFetching, refetch } = useAnalysis(ticker)
  // Asked again after a failure, it is being written again.
  if (error && !isFetching) return <ErrorView error={error} onRetry={() => void refetch()} />
  if (analysis === undefined && !isFetching) {
    return (
      <div className="space-y-3">
        <p className="text-muted">Cancelled: the analyst stopped writing the report.</p>
        <Button onClick={() => void refetch()}>Write the report</Button>
      </div>
    )
  }
  if (analysis === undefined || isTraining(analysis)) {
    return (
      <div className="space-y-3">
        {analysis === undefined
          ? <Loading>The analyst is writing the report: this takes up to a minute<Elapsed />…</Loading>
          : <p className="text-muted">The analyst writes the report once the model is trained.</p>}
        {analysis === undefined
          ? <AnalysisProgress ticker={ticker} onCancel={() => void queryClient.cancelQueries(analysisQueryOptions(ticker))} />
          : [0, 1, 2].map((i) => <Skeleton key={i} className="h-4" />)}
      </div>
    )
  }
  const fallback = analysis.parse_status?.startsWith('fallback')
  const leftOut = analysis.left_out ?? []
  return (
    <>
      {isFetching && <Loading>Refreshing the report…</Loading>}
      <Suspense fallback={<Loading>Loading the report…</Loading>}>
        <ReportMarkdown text={analysis.final_report} />
      </Suspense>
      <div className="mt-4 space-y-1 border-t border-line pt-3 text-xs text-muted">
        <p>
          Facts from the data; the short fields under “From the language model” written by{' '}
          {analysis.llm?.model ?? 'a language model'}
          {analysis.created_at && <> on {formatMoment(analysis.created_at)}</>}
          {analysis.cached && ' (from the cache of recent reports on the same forecast and news)'}.
        </p>
        {fallback && <p>The stance and confidence were read by a fallback: {analysis.parse_status}.</p>}
        {analysis.flags && analysis.flags.length > 0 && <p>Flags: {analysis.flags.join('; ')}</p>}
        {leftOut.length > 0 && <p>Left out after their checks: {leftOut.join('; ')}</p>}
      </div>
    </>
  )
}
