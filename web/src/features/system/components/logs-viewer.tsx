import { useDeferredValue, useEffect, useId, useRef, useState } from 'react'
import { Button } from '../../../components/button'
import { ErrorView } from '../../../components/error-view'
import { Loading } from '../../../components/loading'
import { useLogs } from '../api/get-logs'

const sizes = [100, 500, 2000]

function levelClass(line: string): string {
  if (/level=(ERROR|error)|"level":"ERROR"/.test(line)) return 'text-down'
  if (/level=(WARN|warn)|"level":"WARN"/.test(line)) return 'text-warn'
  return ''
}

// The server log's last lines (GET /system/logs), with a filter and an optional follow mode.
export function LogsViewer() {
  const [lines, setLines] = useState(100)
  const [follow, setFollow] = useState(false)
  const [filter, setFilter] = useState('')
  const needle = useDeferredValue(filter.trim().toLowerCase())
  const { data, error, isPending, isFetching, refetch } = useLogs(lines, follow)
  const ids = { lines: useId(), filter: useId() }
  const box = useRef<HTMLPreElement>(null)

  // The newest lines are at the end: keep them in view.
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight
  }, [data, needle])

  const shown = (data?.logs ?? '').split('\n').filter((l) => l !== '' && (needle === '' || l.toLowerCase().includes(needle)))

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-3 text-sm">
        <div className="flex flex-col gap-1">
          <label htmlFor={ids.lines} className="font-medium">Lines</label>
          <select id={ids.lines} value={lines} onChange={(e) => setLines(Number(e.target.value))} className="min-h-10 rounded-lg border border-line bg-surface px-2">
            {sizes.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor={ids.filter} className="font-medium">Filter</label>
          <input id={ids.filter} value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="e.g. error, MSFT" className="min-h-10 w-48 rounded-lg border border-line bg-surface px-3" />
        </div>
        <label className="flex min-h-10 items-center gap-2">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} className="size-4" />
          Follow
        </label>
        <Button variant="secondary" onClick={() => void refetch()} disabled={isFetching}>Refresh</Button>
      </div>
      {isPending ? <Loading>Loading the log…</Loading> : error ? <ErrorView error={error} onRetry={() => void refetch()} /> : (
        <>
          <p className="text-xs text-muted">{data.filename}: {shown.length} line{shown.length === 1 ? '' : 's'}{needle && ` matching “${filter.trim()}”`}</p>
          <pre ref={box} tabIndex={0} aria-label="Log lines" className="max-h-96 overflow-auto rounded-lg bg-sunken p-3 text-xs leading-relaxed">
            {shown.map((l, i) => <div key={i} className={levelClass(l)}>{l}</div>)}
          </pre>
        </>
      )}
    </div>
  )
}
