import { Link } from 'wouter'
import { PageHeading } from '../page-heading'

export function NotFoundRoute() {
  return (
    <PageHeading title="Page not found">
      There is no such page. <Link href="/" className="text-accent underline">Analyze a stock</Link> instead.
    </PageHeading>
  )
}
