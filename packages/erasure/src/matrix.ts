import { gfDiv, gfExp, gfMul } from './galois.js'

/** A matrix over GF(2^8): an array of equal-length rows. */
export type Matrix = Uint8Array[]

function newMatrix(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => new Uint8Array(cols))
}

/** rows × cols Vandermonde matrix, entry (r, c) = r^c: any `cols` of its rows are independent. */
export function vandermonde(rows: number, cols: number): Matrix {
  const m = newMatrix(rows, cols)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m[r]![c] = gfExp(r, c)
  return m
}

/** left · right. Precondition: left's column count equals right's row count. */
export function multiply(left: Matrix, right: Matrix): Matrix {
  const inner = right.length
  const cols = right[0]!.length
  const out = newMatrix(left.length, cols)
  for (let r = 0; r < left.length; r++) {
    const row = left[r]!
    const dst = out[r]!
    for (let c = 0; c < cols; c++) {
      let v = 0
      for (let i = 0; i < inner; i++) v ^= gfMul(row[i]!, right[i]![c]!)
      dst[c] = v
    }
  }
  return out
}

/**
 * Inverse of a square matrix by Gauss-Jordan elimination, or undefined when it is singular.
 * Any k rows of the encoding matrix are invertible, so undefined means a bug, not bad input.
 */
export function invert(m: Matrix): Matrix | undefined {
  const n = m.length
  // Augment with the identity: [m | I] → [I | m⁻¹].
  const work = m.map((row, r) => {
    const w = new Uint8Array(2 * n)
    w.set(row)
    w[n + r] = 1
    return w
  })
  for (let r = 0; r < n; r++) {
    if (work[r]![r] === 0) {
      const below = work.findIndex((row, i) => i > r && row[r] !== 0)
      if (below < 0) return undefined
      ;[work[r], work[below]] = [work[below]!, work[r]!]
    }
    const pivotRow = work[r]!
    const scale = gfDiv(1, pivotRow[r]!)
    if (scale !== 1) for (let c = 0; c < 2 * n; c++) pivotRow[c] = gfMul(pivotRow[c]!, scale)
    for (let i = 0; i < n; i++) {
      const row = work[i]!
      const f = row[r]!
      if (i === r || f === 0) continue
      for (let c = 0; c < 2 * n; c++) row[c]! ^= gfMul(f, pivotRow[c]!)
    }
  }
  return work.map((row) => row.slice(n))
}

/**
 * The (dataBlocks + parityBlocks) × dataBlocks systematic encoding matrix of klauspost/reedsolomon's
 * default `New()`: a Vandermonde matrix times the inverse of its top square, so the top square is
 * the identity (data blocks are stored as is) and any dataBlocks rows are still invertible.
 */
export function buildEncodingMatrix(dataBlocks: number, totalBlocks: number): Matrix {
  const vm = vandermonde(totalBlocks, dataBlocks)
  const topInverse = invert(vm.slice(0, dataBlocks))
  if (topInverse === undefined) throw new Error('unreachable: Vandermonde top square is singular')
  return multiply(vm, topInverse)
}
