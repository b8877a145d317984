// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { apiTypes } from '../../codegen/api-types.mjs'
import committed from './openapi.ts?raw'

describe('openapi.ts', () => {
  it('is generated from the OpenAPI document as it is now', async () => {
    const fresh = await apiTypes()
    expect(fresh).toContain('export interface paths')
    // One line to act on, not a diff of thousands of lines.
    expect(committed === fresh, 'src/types/openapi.ts is stale: run `npm run gen:api`').toBe(true)
  })
})
