import { Card } from '../../components/card'
import { ApiKeyForm } from '../../features/system/components/api-key-form'
import { HealthPanel } from '../../features/system/components/health-panel'
import { PageHeading } from '../page-heading'

const links = [
  { href: '/docs', name: 'API documentation', what: 'every endpoint, to read and to try' },
  { href: '/openapi.json', name: 'OpenAPI document', what: 'the API as a machine reads it' },
  { href: '/metrics', name: 'Metrics', what: 'Prometheus text: requests, predictions, trainings' },
]

export function SystemRoute() {
  return (
    <>
      <PageHeading title="System">The health of each part of the service, and where to look further.</PageHeading>
      <div className="space-y-5">
        <Card title="Health"><HealthPanel /></Card>
        <Card title="Links">
          <ul className="space-y-2">
            {links.map((l) => (
              <li key={l.href}>
                <a href={l.href} className="font-medium text-accent underline">{l.name}</a>
                <span className="text-muted"> ({l.href}): {l.what}</span>
              </li>
            ))}
          </ul>
        </Card>
        <Card title="API key">
          <p className="mb-3 text-sm text-muted">Only for a server started with API_KEYS; the key stays in this tab.</p>
          <ApiKeyForm />
        </Card>
      </div>
    </>
  )
}
