import { describe, expect, it } from 'vitest'
import { verdict } from './accuracy'

describe('verdict', () => {
  it('compares the model with the no-change guess', () => {
    expect(verdict(8, 10)).toEqual({ kind: 'better', share: expect.closeTo(0.2) as number })
    expect(verdict(12, 10)).toEqual({ kind: 'worse', share: expect.closeTo(0.2) as number })
    expect(verdict(9.95, 10).kind).toBe('same')
  })
})
