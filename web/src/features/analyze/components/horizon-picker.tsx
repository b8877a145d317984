import { horizons, type ChartHorizon } from './chart-data'

const names: Record<ChartHorizon, string> = { 5: '1 week', 21: '1 month', 63: '3 months' }

// Native radio buttons, so arrows, Tab and screen readers work as everywhere else.
export function HorizonPicker({ value, onChange }: { value: ChartHorizon, onChange: (h: ChartHorizon) => void }) {
  return (
    <fieldset className="flex flex-wrap items-center gap-2">
      <legend className="sr-only">Forecast horizon</legend>
      {horizons.map((h) => (
        <label
          key={h}
          className="cursor-pointer rounded-lg border border-line px-3 py-1.5 text-sm has-checked:border-accent has-checked:bg-accent has-checked:text-accent-fg has-focus-visible:outline-2 has-focus-visible:outline-accent"
        >
          <input type="radio" name="horizon" value={h} checked={value === h} onChange={() => onChange(h)} className="sr-only" />
          {h} days <span className="opacity-80">({names[h]})</span>
        </label>
      ))}
    </fieldset>
  )
}
