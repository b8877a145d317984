import { extent, linear, ticks } from './scale'

export type Point = { x: number, y: number }
// Colours are the theme's (Tailwind's stroke-/fill- classes), so both themes read well.
export type LineSeries = { name: string, points: Point[], stroke: string, dot: string, dashed?: boolean }
export type Band = { name: string, lower: Point[], upper: Point[], fill: string }
export type Rule = { y: number, label: string, stroke: string }
export type Mark = { x: number, y: number, label: string, fill: string }

const W = 640
const H = 240
const M = { top: 12, right: 16, bottom: 36, left: 56 }

// Lines over a numeric x axis (epochs, days), with optional shaded bands, horizontal rules
// (thresholds) and labelled marks (decisions). Drawn as SVG that scales with its box.
export function LineChart({ series, bands = [], rules = [], marks = [], xLabel, yLabel, formatX = String, formatY = String, yFrom, xDomain }: {
  series: LineSeries[]
  bands?: Band[]
  rules?: Rule[]
  marks?: Mark[]
  xLabel: string
  yLabel: string
  formatX?: (x: number) => string
  formatY?: (y: number) => string
  // Start the y axis here (0 for errors and scores) instead of at the smallest value.
  yFrom?: number
  // The x axis's span, where the points' own would not do (one point in time).
  xDomain?: [number, number]
}) {
  const all = [...series.flatMap((s) => s.points), ...bands.flatMap((b) => [...b.lower, ...b.upper]), ...marks]
  const xs = xDomain ?? extent(all.map((p) => p.x))
  const [lo, hi] = extent([...all.map((p) => p.y), ...rules.map((r) => r.y), ...(yFrom === undefined ? [] : [yFrom])])
  const pad = (hi - lo) * 0.05
  const ys: [number, number] = [yFrom ?? lo - pad, hi + pad]
  const x = linear(xs, [M.left, W - M.right])
  const y = linear(ys, [H - M.bottom, M.top])
  const path = (pts: Point[]) => pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join('')
  const xTicks = ticks(xs, 6)
  return (
    <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full text-muted" aria-hidden="true">
      {ticks(ys, 4).map((t) => (
        <g key={`y${t}`}>
          <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} className="stroke-line" />
          <text x={M.left - 6} y={y(t)} dy="0.32em" textAnchor="end" className="fill-current text-[11px]">{formatY(t)}</text>
        </g>
      ))}
      {xTicks.map((t) => (
        <text key={`x${t}`} x={x(t)} y={H - M.bottom + 16} textAnchor="middle" className="fill-current text-[11px]">{formatX(t)}</text>
      ))}
      <text x={(M.left + W - M.right) / 2} y={H - 4} textAnchor="middle" className="fill-current text-[11px]">{xLabel}</text>
      <text transform={`translate(12 ${(M.top + H - M.bottom) / 2}) rotate(-90)`} textAnchor="middle" className="fill-current text-[11px]">{yLabel}</text>
      {bands.map((b) => (
        <path key={b.name} data-band={b.name} d={`${path(b.lower)}${path([...b.upper].reverse()).replace(/^M/, 'L')}Z`} className={b.fill} />
      ))}
      {rules.map((r) => (
        <g key={r.label} data-rule={r.label}>
          <line x1={M.left} x2={W - M.right} y1={y(r.y)} y2={y(r.y)} strokeDasharray="2 3" className={r.stroke} />
          <text x={W - M.right} y={y(r.y) - 4} textAnchor="end" className="fill-current text-[11px]">{r.label}</text>
        </g>
      ))}
      {series.map((s) => (
        <path key={s.name} data-series={s.name} d={path(s.points)} fill="none" strokeWidth={2} strokeDasharray={s.dashed ? '6 4' : undefined} className={s.stroke} />
      ))}
      {series.filter((s) => s.points.length === 1).map((s) => (
        <circle key={`${s.name}-dot`} cx={x(s.points[0]!.x)} cy={y(s.points[0]!.y)} r={3} className={s.dot} />
      ))}
      {marks.map((m, i) => (
        <circle key={i} data-mark={m.label} cx={x(m.x)} cy={y(m.y)} r={4} className={m.fill}><title>{m.label}</title></circle>
      ))}
    </svg>
  )
}

// The names of the lines, each in its colour.
export function Legend({ items }: { items: { name: string, className: string, dashed?: boolean }[] }) {
  return (
    <ul className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted">
      {items.map((i) => (
        <li key={i.name} className="flex items-center gap-1">
          <svg width="18" height="8" aria-hidden="true"><line x1="0" x2="18" y1="4" y2="4" strokeWidth={3} strokeDasharray={i.dashed ? '4 3' : undefined} className={i.className} /></svg>
          {i.name}
        </li>
      ))}
    </ul>
  )
}
