// Number and date formatting, one style across the app. Dates from the API are market dates
// (YYYY-MM-DD) and are shown as such, in UTC, so a browser's time zone cannot shift a day.

const price = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
const day = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })
const shortDay = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })
const moment = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' })

export function formatPrice(v: number): string {
  return price.format(v)
}

// A signed percentage: +1.2%, -0.4%.
export function formatChange(fraction: number, digits = 1): string {
  const pct = fraction * 100
  const text = Math.abs(pct).toFixed(digits)
  if (Number(text) === 0) return `${(0).toFixed(digits)}%`
  return `${pct > 0 ? '+' : '−'}${text}%`
}

export function formatPercent(fraction: number, digits = 0): string {
  return `${(fraction * 100).toFixed(digits)}%`
}

export function formatNumber(v: number, digits = 3): string {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v)
}

function marketDate(iso: string): Date {
  return new Date(`${iso.slice(0, 10)}T00:00:00Z`)
}

export function formatMarketDate(iso: string, withWeekday = true): string {
  const d = marketDate(iso)
  if (Number.isNaN(d.getTime())) return iso
  return (withWeekday ? day : shortDay).format(d)
}

export function formatMoment(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : moment.format(d)
}

// Whole calendar days from a market date to now.
export function daysSince(iso: string, now = new Date()): number {
  const today = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())
  return Math.floor((today - marketDate(iso).getTime()) / 86_400_000)
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`
  const m = Math.floor(seconds / 60)
  return `${m} min ${Math.round(seconds - m * 60)} s`
}
