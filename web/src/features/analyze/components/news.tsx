import { Skeleton } from '../../../components/skeleton'
import { formatMoment } from '../../../lib/format'
import { isTraining } from '../../../types/api'
import { useAnalysis } from '../api/analyze'

function safeLink(url: string | undefined): string | undefined {
  return url && /^https?:\/\//i.test(url) ? url : undefined
}

// The headlines the analyst read, each with its source: they come with the report.
export function News({ ticker }: { ticker: string }) {
  const { data: analysis, error, isFetching } = useAnalysis(ticker)
  if (error && !isFetching) return <p className="text-muted">No headlines: they come with the analyst's report, which failed (see below).</p>
  if (analysis === undefined || isTraining(analysis)) {
    return (
      <div className="space-y-3">
        <p className="text-muted">The headlines come with the analyst's report.</p>
        {[0, 1, 2].map((i) => <Skeleton key={i} className="h-10" />)}
      </div>
    )
  }
  const news = analysis.news
  const headlines = news?.headlines ?? []
  return (
    <div className="space-y-3">
      <p className="text-sm">
        <span className="text-muted">Tone of the news: </span>{analysis.news_sentiment}
      </p>
      {headlines.length === 0 ? (
        <p className="text-muted">
          No headlines{news?.source && news.source !== 'none' ? ` from ${news.source}` : ''}
          {news?.detail ? ` (${news.detail})` : ''}.
        </p>
      ) : (
        <ul className="space-y-2">
          {headlines.map((h, i) => {
            const href = safeLink(h.url)
            return (
              <li key={`${i}-${h.title}`} className="border-t border-line pt-2 first:border-0 first:pt-0">
                {href
                  ? <a href={href} target="_blank" rel="noopener noreferrer nofollow" className="font-medium text-accent underline">{h.title}</a>
                  : <span className="font-medium">{h.title}</span>}
                <span className="block text-sm text-muted">
                  {[h.publisher, h.published ? formatMoment(h.published) : undefined].filter(Boolean).join(' · ')}
                </span>
              </li>
            )
          })}
        </ul>
      )}
      {news?.source && news.source !== 'none' && (
        <p className="text-xs text-muted">Source: {news.source}</p>
      )}
    </div>
  )
}
