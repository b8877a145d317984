import { useSyncExternalStore } from 'react'

// Light, dark, or the system's choice. The resolved theme is set as data-theme on <html>, which
// the style sheet reads; before this script runs, the style sheet follows the system itself.

export type ThemeChoice = 'light' | 'dark' | 'system'
export type Theme = 'light' | 'dark'

const slot = 'stockagent.theme'
const listeners = new Set<() => void>()
const dark = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : undefined

function getThemeChoice(): ThemeChoice {
  const v = localStorage.getItem(slot)
  return v === 'light' || v === 'dark' ? v : 'system'
}

function resolveTheme(choice: ThemeChoice): Theme {
  if (choice !== 'system') return choice
  return dark?.matches ? 'dark' : 'light'
}

export function applyTheme(): void {
  document.documentElement.dataset.theme = resolveTheme(getThemeChoice())
  listeners.forEach((l) => l())
}

export function setThemeChoice(choice: ThemeChoice): void {
  if (choice === 'system') localStorage.removeItem(slot)
  else localStorage.setItem(slot, choice)
  applyTheme()
}

dark?.addEventListener('change', applyTheme)

function subscribe(l: () => void): () => void {
  listeners.add(l)
  return () => listeners.delete(l)
}

export function useThemeChoice(): ThemeChoice {
  return useSyncExternalStore(subscribe, getThemeChoice)
}

// The theme in effect, for code that draws its own colours (the chart).
export function useTheme(): Theme {
  return useSyncExternalStore(subscribe, () => resolveTheme(getThemeChoice()))
}
