import { LossChart } from '../../../components/charts/loss-chart'
import { ChartEmpty } from '../../../components/charts/chart-figure'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { ApiError } from '../../../lib/api-client'
import { useRuns } from '../api/get-runs'

// The loss curves of the model's newest training run, from its run log.
export function TrainingCurves({ ticker }: { ticker: string }) {
  const { data, error, isPending, refetch } = useRuns(ticker, true)
  if (isPending) return <Loading>Loading the training run…</Loading>
  // The API's 404 here means the model has no logged run.
  if (error instanceof ApiError && error.status === 404) return <ChartEmpty>No training run is logged for this model.</ChartEmpty>
  if (error) return <ErrorView error={error} onRetry={() => void refetch()} />
  const run = data.runs[0]
  if (!run) return <ChartEmpty>No training run is logged for this model.</ChartEmpty>
  return <LossChart epochs={run.epochs} title={`Loss per epoch, version ${run.version}`} testId="loss-chart" />
}
