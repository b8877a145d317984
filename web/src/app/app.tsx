import { lazy, Suspense } from 'react'
import { Route, Switch } from 'wouter'
import { Loading } from '../components/loading'
import { Layout } from './layout'
import { AppProvider } from './provider'
import { AnalyzeRoute } from './routes/analyze'
import { NotFoundRoute } from './routes/not-found'

// Analyze is the first page most people see; the operator's pages load when opened.
const MonitorRoute = lazy(() => import('./routes/monitor').then((m) => ({ default: m.MonitorRoute })))
const SystemRoute = lazy(() => import('./routes/system').then((m) => ({ default: m.SystemRoute })))

export function AppRoutes() {
  return (
    <Layout>
      <Suspense fallback={<Loading />}>
        <Switch>
          <Route path="/"><AnalyzeRoute /></Route>
          <Route path="/analyze/:ticker">{(params) => <AnalyzeRoute ticker={params.ticker} />}</Route>
          <Route path="/monitor"><MonitorRoute /></Route>
          <Route path="/system"><SystemRoute /></Route>
          <Route><NotFoundRoute /></Route>
        </Switch>
      </Suspense>
    </Layout>
  )
}

export function App() {
  return (
    <AppProvider>
      <AppRoutes />
    </AppProvider>
  )
}
