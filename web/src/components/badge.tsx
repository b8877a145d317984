import type { ReactNode } from 'react'

// up/down/flat follow the market's colours; warn is for "look at this"; info is plain.
export type Tone = 'up' | 'down' | 'flat' | 'warn' | 'info'

const toneClass: Record<Tone, string> = {
  up: 'bg-up-bg text-up',
  down: 'bg-down-bg text-down',
  flat: 'bg-flat-bg text-flat',
  warn: 'bg-warn-bg text-warn',
  info: 'bg-sunken text-fg',
}

// A word with a colour and a symbol, so the meaning never rests on colour alone.
export function Badge({ tone, icon, children }: { tone: Tone, icon?: string, children: ReactNode }) {
  return (
    <span data-tone={tone} className={`inline-flex items-center gap-1 rounded-full px-2.5 py-0.5 text-sm font-semibold whitespace-nowrap ${toneClass[tone]}`}>
      {icon !== undefined && <span aria-hidden="true">{icon}</span>}
      {children}
    </span>
  )
}
