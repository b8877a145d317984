import { formatPercent } from '../../../lib/format'

// skill_vs_naive is the model's mean error over the naive forecast's: below 1 is better.
export function skillWords(ratio: number | null | undefined): string {
  if (ratio == null || !Number.isFinite(ratio)) return 'not evaluated'
  const share = 1 - ratio
  if (Math.abs(share) < 0.01) return 'as accurate as “no change”'
  return share > 0 ? `${formatPercent(share)} more accurate than “no change”` : `${formatPercent(-share)} less accurate than “no change”`
}
