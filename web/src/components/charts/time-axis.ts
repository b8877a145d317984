import { formatMarketDate } from '../../lib/format'

// An x axis of moments (ms since the epoch, oldest first): points within two days of each other
// are told apart by their time (UTC), not their day, and within an hour by the second; a single
// point sits in the middle of its day.
export function timeAxis(times: number[]): { formatX: (x: number) => string, xDomain?: [number, number] } {
  const first = times[0] ?? 0
  const last = times.at(-1) ?? 0
  const span = last - first
  const clock = span < 3_600_000 ? 19 : 16
  const formatX = span < 2 * 86_400_000
    ? (x: number) => `${new Date(x).toISOString().slice(11, clock)} UTC`
    : (x: number) => formatMarketDate(new Date(x).toISOString(), false)
  return { formatX, xDomain: times.length === 1 ? [last - 43_200_000, last + 43_200_000] : undefined }
}
