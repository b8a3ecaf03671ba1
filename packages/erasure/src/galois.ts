// Arithmetic in GF(2^8) with the field polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d) and generator 2,
// the field of klauspost/reedsolomon and Backblaze JavaReedSolomon. Blocks encoded here decode there.

const FIELD_POLYNOMIAL = 0x11d

/** expTable[i] = 2^i for i in [0, 510): doubled so that expTable[log a + log b] needs no modulo. */
const expTable: Uint8Array = new Uint8Array(510)
/** logTable[a] = log2(a) for a in [1, 255]; logTable[0] is unused. */
const logTable: Uint8Array = new Uint8Array(256)

{
  let x = 1
  for (let i = 0; i < 255; i++) {
    expTable[i] = x
    expTable[i + 255] = x
    logTable[x] = i
    x <<= 1
    if (x & 0x100) x ^= FIELD_POLYNOMIAL
  }
}

/** a · b in GF(2^8). */
export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0
  return expTable[logTable[a]! + logTable[b]!]!
}

/** a / b in GF(2^8). Precondition: b ≠ 0. */
export function gfDiv(a: number, b: number): number {
  if (a === 0) return 0
  return expTable[logTable[a]! + 255 - logTable[b]!]!
}

/** a^n in GF(2^8), with 0^0 = 1 as klauspost's galExp defines it. */
export function gfExp(a: number, n: number): number {
  if (n === 0) return 1
  if (a === 0) return 0
  return expTable[(logTable[a]! * n) % 255]!
}

let mulTableCache: Uint8Array | undefined

/** The scalar kernel's full product table, t[c << 8 | x] = c · x (64 KiB, built on first use). */
export function mulTable(): Uint8Array {
  if (mulTableCache === undefined) {
    const t = new Uint8Array(65536)
    for (let c = 1; c < 256; c++) {
      const logC = logTable[c]!
      for (let x = 1; x < 256; x++) t[(c << 8) | x] = expTable[logC + logTable[x]!]!
    }
    mulTableCache = t
  }
  return mulTableCache
}

/**
 * Writes the two 16-entry tables of the split-nibble multiply by `c` at `out[offset..offset+32)`:
 * c·x = lo[x & 15] ^ hi[x >> 4], the form PSHUFB / i8x16.swizzle evaluates 16 bytes at a time.
 */
export function writeNibbleTables(c: number, out: Uint8Array, offset: number): void {
  for (let n = 0; n < 16; n++) {
    out[offset + n] = gfMul(c, n)
    out[offset + 16 + n] = gfMul(c, n << 4)
  }
}
