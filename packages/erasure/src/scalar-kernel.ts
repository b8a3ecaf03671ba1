import type { CodingPlan } from './coding-plan.js'
import { mulTable } from './galois.js'

/**
 * Table-lookup GF(2^8) matrix multiply in plain TypeScript, one byte at a time (~0.1–0.3 GB/s).
 * The fallback where WebAssembly SIMD is missing, and the oracle the SIMD kernel is tested against.
 */
export const scalarKernel = {
  name: 'scalar' as const,

  code(plan: CodingPlan, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], length: number): void {
    const table = mulTable()
    for (let j = 0; j < plan.outputCount; j++) {
      const row = plan.rows[j]!
      const out = outputs[j]!
      out.fill(0, 0, length)
      for (let i = 0; i < plan.inputCount; i++) {
        const c = row[i]!
        const input = inputs[i]!
        if (c === 0) continue
        if (c === 1) {
          for (let p = 0; p < length; p++) out[p]! ^= input[p]!
          continue
        }
        const base = c << 8
        for (let p = 0; p < length; p++) out[p]! ^= table[base | input[p]!]!
      }
    }
  },

  matches(plan: CodingPlan, inputs: readonly Uint8Array[], expected: readonly Uint8Array[], length: number): boolean {
    const outputs = expected.map(() => new Uint8Array(length))
    this.code(plan, inputs, outputs, length)
    return outputs.every((out, j) => {
      const exp = expected[j]!
      for (let p = 0; p < length; p++) if (out[p] !== exp[p]) return false
      return true
    })
  },
}
