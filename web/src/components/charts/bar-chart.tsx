import { extent, linear, ticks } from './scale'

export type BarSeries = { name: string, fill: string }
// One group per category (a horizon), one value per series; null: not measured.
export type BarGroup = { label: string, values: (number | null)[] }

const W = 640
const H = 240
const M = { top: 12, right: 16, bottom: 36, left: 56 }

// Grouped bars from zero, one colour per series.
export function BarChart({ series, groups, xLabel, yLabel, formatY = String }: {
  series: BarSeries[]
  groups: BarGroup[]
  xLabel: string
  yLabel: string
  formatY?: (y: number) => string
}) {
  const [, hi] = extent([0, ...groups.flatMap((g) => g.values.filter((v): v is number => v !== null))])
  const y = linear([0, hi * 1.05], [H - M.bottom, M.top])
  const groupWidth = (W - M.left - M.right) / Math.max(1, groups.length)
  const barWidth = (groupWidth * 0.8) / Math.max(1, series.length)
  return (
    <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full text-muted" aria-hidden="true">
      {ticks([0, hi * 1.05], 4).map((t) => (
        <g key={t}>
          <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} className="stroke-line" />
          <text x={M.left - 6} y={y(t)} dy="0.32em" textAnchor="end" className="fill-current text-[11px]">{formatY(t)}</text>
        </g>
      ))}
      {groups.map((g, gi) => {
        const left = M.left + gi * groupWidth + groupWidth * 0.1
        return (
          <g key={g.label}>
            {g.values.map((v, si) => v === null ? null : (
              <rect key={si} data-bar={`${series[si]?.name} ${g.label}`} x={left + si * barWidth} y={y(v)} width={barWidth - 2} height={Math.max(0, y(0) - y(v))} className={series[si]?.fill}>
                <title>{`${series[si]?.name}, ${g.label}: ${formatY(v)}`}</title>
              </rect>
            ))}
            <text x={M.left + (gi + 0.5) * groupWidth} y={H - M.bottom + 16} textAnchor="middle" className="fill-current text-[11px]">{g.label}</text>
          </g>
        )
      })}
      <text x={(M.left + W - M.right) / 2} y={H - 4} textAnchor="middle" className="fill-current text-[11px]">{xLabel}</text>
      <text transform={`translate(12 ${(M.top + H - M.bottom) / 2}) rotate(-90)`} textAnchor="middle" className="fill-current text-[11px]">{yLabel}</text>
    </svg>
  )
}
