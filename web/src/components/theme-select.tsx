import { setThemeChoice, useThemeChoice, type ThemeChoice } from '../lib/theme'

export function ThemeSelect() {
  const choice = useThemeChoice()
  return (
    <label className="flex items-center gap-2 text-sm">
      <span className="sr-only sm:not-sr-only">Theme</span>
      <select
        value={choice}
        onChange={(e) => setThemeChoice(e.target.value as ThemeChoice)}
        className="min-h-10 rounded-lg border border-line bg-surface px-2 text-fg"
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  )
}
