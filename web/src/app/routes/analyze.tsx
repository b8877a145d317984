import { useQueryClient } from '@tanstack/react-query'
import { useEffect } from 'react'
import { useLocation } from 'wouter'
import { Card } from '../../components/card'
import { Elapsed } from '../../components/elapsed'
import { ErrorView } from '../../components/error-view'
import { Loading } from '../../components/loading'
import { analysisQueryOptions, isTraining, useAnalysis } from '../../features/analyze/api/analyze'
import { AnalysisView } from '../../features/analyze/components/analysis-view'
import { TickerForm } from '../../features/analyze/components/ticker-form'
import { rememberTicker } from '../../features/analyze/recent-tickers'
import { taskQueryPrefix } from '../../features/training/api/get-task'
import { TaskProgress } from '../../features/training/components/task-progress'
import { checkTicker } from '../../lib/ticker'
import { PageHeading } from '../page-heading'

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

export function AnalyzeRoute({ ticker: raw }: { ticker?: string }) {
  const [, navigate] = useLocation()
  const check = raw === undefined ? undefined : checkTicker(decode(raw))
  const ticker = check?.ok ? check.ticker : undefined

  return (
    <>
      <PageHeading title={ticker ? `${ticker} · Analyze` : 'Analyze'}>
        A forecast of the next 63 trading days, how accurate the model has been, and an analyst's report.
      </PageHeading>
      <div className="space-y-5">
        <Card title="Which stock?">
          <TickerForm key={ticker ?? ''} initial={ticker ?? (raw !== undefined ? decode(raw) : '')} onSubmit={(t) => navigate(`/analyze/${encodeURIComponent(t)}`)} />
          {check && !check.ok && <p role="alert" className="mt-2 text-sm font-medium text-down">{check.reason}</p>}
        </Card>
        {ticker && <TickerAnalysis key={ticker} ticker={ticker} />}
      </div>
    </>
  )
}

// The analysis of one ticker: the report, or the training that must come first, whose real
// progress shows until the report appears by itself.
function TickerAnalysis({ ticker }: { ticker: string }) {
  const client = useQueryClient()
  const analysis = useAnalysis(ticker)
  const again = () => void client.invalidateQueries({ queryKey: analysisQueryOptions(ticker).queryKey })
  // A failed training is asked for again: the answer starts a new task under the same id, whose
  // status is then read afresh (the failed one's stopped polling).
  const retrain = async () => {
    await client.refetchQueries({ queryKey: analysisQueryOptions(ticker).queryKey })
    await client.resetQueries({ queryKey: taskQueryPrefix })
  }
  const answered = analysis.data !== undefined && !isTraining(analysis.data)

  useEffect(() => {
    if (answered) rememberTicker(ticker)
  }, [answered, ticker])

  if (analysis.error) {
    return (
      <ErrorView
        error={analysis.error}
        onRetry={again}
        notFound={<>There is no price data for {ticker}. Check the symbol, or pick one the server has data for (the list under the box).</>}
      />
    )
  }
  if (analysis.isPending) {
    return (
      <Loading>
        The analyst is reading {ticker}'s forecast and news: this takes up to a minute<Elapsed />.
      </Loading>
    )
  }
  const data = analysis.data
  if (isTraining(data)) {
    return (
      <div className="space-y-3">
        <p>
          There is no model for {ticker} yet, so it is being trained now. The report appears here by itself
          when the training is done.
        </p>
        <TaskProgress taskId={data.task_id} label={ticker} onCompleted={again} onRetry={() => void retrain()} />
        {analysis.isFetching && (
          <Loading>The model is ready. The analyst is writing the report<Elapsed />…</Loading>
        )}
      </div>
    )
  }
  return (
    <div className="space-y-3">
      {analysis.isFetching && <Loading>Refreshing the analysis…</Loading>}
      <AnalysisView analysis={data} />
    </div>
  )
}
