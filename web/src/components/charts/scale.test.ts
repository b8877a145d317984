import { describe, expect, it } from 'vitest'
import { extent, linear, ticks } from './scale'

describe('scale', () => {
  it('maps the domain onto the range, flipped for a y axis', () => {
    const y = linear([0, 10], [100, 0])
    expect(y(0)).toBe(100)
    expect(y(10)).toBe(0)
    expect(y(2.5)).toBe(75)
  })

  it('widens a flat series and skips values that are not numbers', () => {
    expect(extent([3, 3])).toEqual([2.7, 3.3])
    expect(extent([NaN, 1, 4])).toEqual([1, 4])
    expect(extent([])).toEqual([0, 1])
  })

  it('puts ticks on round values inside the range', () => {
    expect(ticks([0, 1], 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
    expect(ticks([13, 61], 4)).toEqual([20, 40, 60])
  })
})
