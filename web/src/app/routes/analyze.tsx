import { useQueryClient } from '@tanstack/react-query'
import { useEffect, useMemo } from 'react'
import { useLocation } from 'wouter'
import { Card } from '../../components/card'
import { ErrorView } from '../../components/error-view'
import { Loading } from '../../components/loading'
import { analysisQueryOptions, forecastOf, useAnalysis } from '../../features/analyze/api/analyze'
import { predictionQueryOptions, usePrediction } from '../../features/analyze/api/get-prediction'
import { AnalysisView } from '../../features/analyze/components/analysis-view'
import { TickerForm } from '../../features/analyze/components/ticker-form'
import { rememberTicker } from '../../features/analyze/recent-tickers'
import { taskQueryPrefix } from '../../features/training/api/get-task'
import { TaskProgress } from '../../features/training/components/task-progress'
import { checkTicker } from '../../lib/ticker'
import { isTraining } from '../../types/api'
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

// The analysis of one ticker. The forecast and the report are asked for together: the forecast
// shows in milliseconds, the report fills in when the analyst is done. A ticker without a model
// trains first (both answers name the same task), and its real progress shows until the forecast
// appears by itself.
function TickerAnalysis({ ticker }: { ticker: string }) {
  const client = useQueryClient()
  const prediction = usePrediction(ticker)
  const analysis = useAnalysis(ticker)
  // The report carries the forecast it was written on: a failed forecast call is made good by it.
  const reported = useMemo(
    () => (analysis.data === undefined || isTraining(analysis.data) ? undefined : forecastOf(analysis.data)),
    [analysis.data],
  )
  const forecast = (isTraining(prediction.data) ? undefined : prediction.data) ?? reported
  const training = isTraining(prediction.data) ? prediction.data : isTraining(analysis.data) ? analysis.data : undefined

  // Only the answers that waited for the training are asked again, once each (never on a timer,
  // so the analyst is not started twice), and from scratch: each part shows its own loading.
  const trained = () => {
    if (isTraining(prediction.data)) void client.resetQueries({ queryKey: predictionQueryOptions(ticker).queryKey })
    if (isTraining(analysis.data)) void client.resetQueries({ queryKey: analysisQueryOptions(ticker).queryKey })
  }
  // A failed training is asked for again: the answer starts a new task under the same id, whose
  // status is then read afresh (the failed one's stopped polling).
  const retrain = async () => {
    await (isTraining(prediction.data) ? prediction.refetch() : analysis.refetch())
    await client.resetQueries({ queryKey: taskQueryPrefix })
  }
  const shown = forecast !== undefined

  useEffect(() => {
    if (shown) rememberTicker(ticker)
  }, [shown, ticker])

  return (
    <div className="space-y-3">
      {training && !forecast && (
        <p>
          There is no model for {ticker} yet, so it is being trained now. The forecast, then the analyst's
          report, appear here by themselves when the training is done.
        </p>
      )}
      {training && <TaskProgress taskId={training.task_id} label={ticker} onCompleted={trained} onRetry={() => void retrain()} />}
      {forecast ? (
        <AnalysisView ticker={ticker} prediction={forecast} />
      ) : prediction.error ? (
        <ErrorView
          error={prediction.error}
          onRetry={() => void prediction.refetch()}
          notFound={<>There is no price data for {ticker}. Check the symbol, or pick one the server has data for (the list under the box).</>}
        />
      ) : !training && (
        <Loading>Reading {ticker}'s forecast…</Loading>
      )}
    </div>
  )
}
