import { useEffect, useState } from 'react'
import { formatDuration } from '../lib/format'

// Time since this mounted: an honest sign of life for a call that gives no progress of its own.
// Hidden from screen readers, which would otherwise announce every second of it.
export function Elapsed() {
  const [start] = useState(() => Date.now())
  const [now, setNow] = useState(start)
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [])
  return <span aria-hidden="true" className="tabular-nums"> ({formatDuration((now - start) / 1000)})</span>
}
