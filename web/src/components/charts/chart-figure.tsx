import { useId, type ReactNode } from 'react'

// A chart with its title and, for readers who cannot see it, the same figures as a table.
export function ChartFigure({ title, summary, table, children, testId }: {
  title: string
  // One sentence saying what the chart shows: the picture's accessible description.
  summary: string
  table: { head: string[], rows: (string | number)[][] }
  children: ReactNode
  testId?: string
}) {
  const id = useId()
  return (
    <figure aria-labelledby={id} data-testid={testId} className="space-y-1">
      <figcaption id={id} className="text-sm font-semibold">{title}</figcaption>
      <div role="img" aria-label={`${title}. ${summary}`}>{children}</div>
      <details className="text-xs">
        <summary className="cursor-pointer text-accent">The figures as a table</summary>
        <table className="mt-1 text-left tabular-nums">
          <caption className="sr-only">{title}</caption>
          <thead className="text-muted">
            <tr>{table.head.map((h) => <th key={h} scope="col" className="pr-3 font-medium">{h}</th>)}</tr>
          </thead>
          <tbody>
            {table.rows.map((r, i) => (
              <tr key={i}>{r.map((c, j) => j === 0 ? <th key={j} scope="row" className="pr-3 font-normal">{c}</th> : <td key={j} className="pr-3">{c}</td>)}</tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  )
}

// What a chart shows instead of a picture when there is nothing to draw.
export function ChartEmpty({ children }: { children: ReactNode }) {
  return <p className="rounded-lg border border-dashed border-line p-3 text-sm text-muted">{children}</p>
}
