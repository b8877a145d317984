import { maxPages } from '../api/get-history'

// Said under a history chart when the range holds more records than the app reads.
export function TruncatedNote() {
  return <p className="text-xs text-muted">Only the newest {maxPages} pages of the history are drawn; older records are left out.</p>
}
