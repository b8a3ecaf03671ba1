import { KERNEL_MAX_OUTPUTS } from './generated/kernel-wasm.js'
import { writeNibbleTables } from './galois.js'
import type { Matrix } from './matrix.js'

/** One kernel call's share of the outputs: `count` consecutive outputs starting at `first`. */
export interface OutputGroup {
  readonly first: number
  readonly count: number
  /** Byte offset of this group's nibble tables in {@link CodingPlan.nibbleTables}. */
  readonly tableOffset: number
}

/**
 * A matrix prepared for the kernels: outputs[j] = Σ rows[j][i] · inputs[i]. Built once per encoder
 * (and once per erasure pattern for reconstruction), then reused for every call.
 */
export interface CodingPlan {
  readonly inputCount: number
  readonly outputCount: number
  readonly rows: Matrix
  /** Per group, entry (i, j) at tableOffset + 32·(i·count + j): the layout the WASM kernel reads. */
  readonly nibbleTables: Uint8Array
  readonly groups: readonly OutputGroup[]
}

/**
 * Prepares `rows` (n rows of `inputCount` coefficients) for the kernels: splits the outputs into
 * groups of at most KERNEL_MAX_OUTPUTS and lays out the nibble tables of every coefficient.
 */
export function createCodingPlan(rows: Matrix, inputCount: number): CodingPlan {
  const outputCount = rows.length
  // Balanced groups (9 outputs → 5 + 4, not 8 + 1): every pass re-reads all inputs, so each should
  // carry as many outputs as the registers allow.
  const groupCount = Math.ceil(outputCount / KERNEL_MAX_OUTPUTS)
  const groups: OutputGroup[] = []
  let first = 0
  let tableOffset = 0
  for (let g = 0; g < groupCount; g++) {
    const count = Math.ceil((outputCount - first) / (groupCount - g))
    groups.push({ first, count, tableOffset })
    first += count
    tableOffset += 32 * inputCount * count
  }
  const nibbleTables = new Uint8Array(tableOffset)
  for (const group of groups) {
    for (let i = 0; i < inputCount; i++) {
      for (let j = 0; j < group.count; j++) {
        const c = rows[group.first + j]![i]!
        writeNibbleTables(c, nibbleTables, group.tableOffset + 32 * (i * group.count + j))
      }
    }
  }
  return { inputCount, outputCount, rows, nibbleTables, groups }
}
