import { describe, expect, it } from 'vitest'

// Features do not import each other (docs/architecture.md): pages in src/app compose them.
const sources = import.meta.glob<string>('./features/**/*.{ts,tsx}', { query: '?raw', import: 'default', eager: true })

// The folder a relative import from file lands in, as a path from src/.
function resolve(file: string, spec: string): string {
  const parts = file.split('/').slice(0, -1)
  for (const p of spec.split('/')) {
    if (p === '..') parts.pop()
    else if (p !== '.') parts.push(p)
  }
  return parts.join('/')
}

describe('architecture', () => {
  it('keeps each feature to itself', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(20)
    const crossings: string[] = []
    for (const [file, text] of Object.entries(sources)) {
      const own = file.split('/')[2]
      for (const [, spec] of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = resolve(file, spec!).split('/')
        if (target[1] === 'features' && target[2] !== own) crossings.push(`${file} imports ${spec}`)
      }
    }
    expect(crossings).toEqual([])
  })
})
