import { useQueryClient } from '@tanstack/react-query'
import { useId } from 'react'
import { Card } from '../../components/card'
import { ErrorView } from '../../components/error-view'
import { Loading } from '../../components/loading'
import { modelsQueryOptions, useModels } from '../../features/models/api/get-models'
import { runsQueryOptions } from '../../features/models/api/get-runs'
import { BacktestPanel } from '../../features/models/components/backtest-panel'
import { ComparisonChart } from '../../features/models/components/comparison-chart'
import { PastForecastsChart } from '../../features/models/components/past-forecasts-chart'
import { RunsList } from '../../features/models/components/runs-list'
import { TrainingCurves } from '../../features/models/components/training-curves'
import { VersionsTable } from '../../features/models/components/versions-table'
import { ModelHealth } from '../../features/monitor/components/model-health'
import { CachePanel } from '../../features/system/components/cache-panel'
import { LogsViewer } from '../../features/system/components/logs-viewer'
import { TasksTable } from '../../features/training/components/tasks-table'
import { TrainPanel } from '../../features/training/components/train-panel'
import type { ModelSummary, TaskRecord } from '../../types/api'
import { PageHeading } from '../page-heading'

export function MonitorRoute() {
  const client = useQueryClient()
  const models = useModels()
  // A finished training adds a version, and a run with its promotion decision.
  const trained = (task: TaskRecord) => {
    void client.invalidateQueries({ queryKey: modelsQueryOptions().queryKey })
    if (task.result?.ticker) void client.invalidateQueries({ queryKey: runsQueryOptions(task.result.ticker).queryKey })
  }

  return (
    <>
      <PageHeading title="Monitor">Train models and watch them: tasks, versions, drift, the analyst's quality, the cache and the log.</PageHeading>
      <div className="space-y-5">
        <Card title="Train"><TrainPanel onTrained={trained} /></Card>
        <Card title="Tasks"><TasksTable /></Card>
        <Card title="Models">
          {models.isPending ? <Loading>Loading models…</Loading>
            : models.error ? <ErrorView error={models.error} onRetry={() => void models.refetch()} />
            : models.data.models.length === 0 ? <p className="text-muted">No trained models yet. Train one above, or analyze a ticker.</p>
            : <div className="space-y-6">{models.data.models.map((m) => <ModelSection key={m.ticker} model={m} />)}</div>}
        </Card>
        <div className="grid gap-5 lg:grid-cols-3">
          <Card title="Prediction cache" className="lg:col-span-1"><CachePanel /></Card>
          <Card title="Server log" className="min-w-0 lg:col-span-2"><LogsViewer /></Card>
        </div>
      </div>
    </>
  )
}

function ModelSection({ model }: { model: ModelSummary }) {
  const id = useId()
  const name = model.role === 'parent' ? `Market model (${model.symbol ?? 'S&P 500'})` : model.ticker
  return (
    <article aria-labelledby={id} className="space-y-3 border-t border-line pt-4 first:border-0 first:pt-0">
      <h3 id={id} className="text-lg font-semibold">
        {name} <span className="text-sm font-normal text-muted">{model.role} model</span>
      </h3>
      <VersionsTable model={model} />
      <div className="grid gap-4 md:grid-cols-2">
        <ComparisonChart model={model} />
        <TrainingCurves ticker={model.ticker} />
      </div>
      <div className="max-w-3xl">
        <PastForecastsChart ticker={model.ticker} />
      </div>
      <ModelHealth ticker={model.ticker} />
      <BacktestPanel ticker={model.ticker} dataAsOf={(model.versions.find((v) => v.serving) ?? model.versions[0])?.data_as_of} />
      <RunsList ticker={model.ticker} />
    </article>
  )
}
