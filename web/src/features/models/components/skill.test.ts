import { describe, expect, it } from 'vitest'

import { skillWords } from './skill'

describe('skillWords', () => {
  it('says how much better or worse than "no change" the model was', () => {
    expect(skillWords(0.9)).toBe('10% more accurate than “no change”')
    expect(skillWords(1.2)).toBe('20% less accurate than “no change”')
    expect(skillWords(1.004)).toBe('as accurate as “no change”')
  })

  it('says "not evaluated" when the server could not measure it (null) or sent nothing', () => {
    expect(skillWords(null)).toBe('not evaluated')
    expect(skillWords(undefined)).toBe('not evaluated')
  })
})
