// The encoding matrix must be klauspost/reedsolomon's default so stripes decode in the wider
// ecosystem. Checked two ways: klauspost's own published vectors (TestOneEncode in
// reedsolomon_test.go, the same vectors as Backblaze JavaReedSolomon's testOneEncode), and parity
// computed here from scratch by a deliberately naive GF(2^8) implementation that shares no code
// with src/ (bitwise carry-less multiply, Fermat inverse, textbook Gauss-Jordan).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ReedSolomon } from '../src/index.js'
import { randomBytes, seededRandom } from './seeded.js'

/** Russian-peasant multiply modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11d). */
function mul(a: number, b: number): number {
  let product = 0
  while (b > 0) {
    if (b & 1) product ^= a
    a <<= 1
    if (a & 0x100) a ^= 0x11d
    b >>= 1
  }
  return product
}
function pow(a: number, n: number): number {
  let r = 1
  for (let i = 0; i < n; i++) r = mul(r, a)
  return r
}
/** a^254 = a^-1 in GF(2^8). */
const inv = (a: number) => pow(a, 254)

function invertMatrix(m: number[][]): number[][] {
  const n = m.length
  const a = m.map((row, r) => [...row, ...Array.from({ length: n }, (_, c) => (c === r ? 1 : 0))])
  for (let col = 0; col < n; col++) {
    const pivot = a.findIndex((row, r) => r >= col && row[col] !== 0)
    ;[a[col], a[pivot]] = [a[pivot]!, a[col]!]
    const s = inv(a[col]![col]!)
    a[col] = a[col]!.map((v) => mul(v, s))
    for (let r = 0; r < n; r++) {
      const f = a[r]![col]!
      if (r !== col && f !== 0) a[r] = a[r]!.map((v, c) => v ^ mul(f, a[col]![c]!))
    }
  }
  return a.map((row) => row.slice(n))
}

/** klauspost buildMatrix: vandermonde(total, k) · inverse(top k×k square); row r of vandermonde is r^c. */
function klauspostMatrix(k: number, total: number): number[][] {
  const vm = Array.from({ length: total }, (_, r) => Array.from({ length: k }, (_, c) => pow(r, c)))
  const topInverse = invertMatrix(vm.slice(0, k))
  return vm.map((row) => topInverse[0]!.map((_, c) => row.reduce((acc, v, i) => acc ^ mul(v, topInverse[i]![c]!), 0)))
}

test("klauspost TestOneEncode vectors (5+5): parity matches byte for byte", async () => {
  for (const kernel of ['auto', 'scalar'] as const) {
    const rs = await ReedSolomon.create({ dataBlocks: 5, parityBlocks: 5, kernel })
    const data = [[0, 1], [4, 5], [2, 3], [6, 7], [8, 9]].map((b) => Uint8Array.from(b))
    const parity = Array.from({ length: 5 }, () => new Uint8Array(2))
    rs.encode(data, parity)
    assert.deepEqual(
      parity.map((p) => [...p]),
      [[12, 13], [10, 11], [14, 15], [90, 91], [94, 95]],
    )
    assert.equal(rs.verify([...data, ...parity]), true)
    parity[3]![0]!++
    assert.equal(rs.verify([...data, ...parity]), false)
  }
})

test('parity equals an independent naive implementation of klauspost buildMatrix', async () => {
  const random = seededRandom(0x5eed)
  for (const [k, m] of [[1, 1], [2, 2], [4, 2], [5, 3], [10, 4], [17, 3], [6, 10]] as const) {
    const matrix = klauspostMatrix(k, k + m)
    // The top square is the identity: the code is systematic.
    for (let r = 0; r < k; r++) assert.deepEqual(matrix[r], Array.from({ length: k }, (_, c) => (c === r ? 1 : 0)))
    const length = 37
    const data = Array.from({ length: k }, () => randomBytes(random, length))
    const expected = matrix.slice(k).map((row) => {
      const out = new Uint8Array(length)
      for (let p = 0; p < length; p++) out[p] = row.reduce((acc, c, i) => acc ^ mul(c, data[i]![p]!), 0)
      return out
    })
    const rs = await ReedSolomon.create({ dataBlocks: k, parityBlocks: m })
    const parity = Array.from({ length: m }, () => new Uint8Array(length))
    rs.encode(data, parity)
    assert.deepEqual(parity, expected, `${k}+${m}`)
  }
})

test('encoding unit vectors reads back the parity row of the naive matrix, coefficient by coefficient (4+1)', async () => {
  const row = klauspostMatrix(4, 5)[4]!
  const rs = await ReedSolomon.create({ dataBlocks: 4, parityBlocks: 1 })
  const unit = (i: number) => Array.from({ length: 4 }, (_, c) => Uint8Array.of(c === i ? 1 : 0))
  for (let i = 0; i < 4; i++) {
    const parity = [new Uint8Array(1)]
    rs.encode(unit(i), parity)
    assert.equal(parity[0]![0], row[i])
  }
})
