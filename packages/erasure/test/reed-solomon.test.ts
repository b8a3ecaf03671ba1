import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ReedSolomon } from '../src/index.js'
import { randomBytes, randomSubset, seededRandom, subsetsUpTo, withCode } from './seeded.js'

const CONFIGS = [
  [1, 0], [1, 1], [2, 1], [3, 3], [4, 2], [5, 9], [10, 4], [17, 3], [32, 32], [1, 20], [128, 128],
] as const
const LENGTHS = [0, 1, 15, 16, 17, 33, 4095, 65536 + 3]
/** Keeps the suite to seconds: big stripes × big lengths only where it adds coverage. */
const budgetOk = (k: number, m: number, length: number) => (k + m) * length <= 64 * 70_000

function stripe(random: () => number, k: number, m: number, length: number) {
  const data = Array.from({ length: k }, () => randomBytes(random, length))
  const parity = Array.from({ length: m }, () => randomBytes(random, length)) // garbage, must be overwritten
  return { data, parity }
}

function erase(blocks: readonly Uint8Array[], indices: readonly number[]): (Uint8Array | undefined)[] {
  const out: (Uint8Array | undefined)[] = blocks.slice()
  for (const i of indices) out[i] = undefined
  return out
}

describe('round trip: any ≤ m erasures reconstruct the original bytes', () => {
  for (const [k, m] of CONFIGS) {
    test(`${k}+${m}`, async () => {
      const rs = await ReedSolomon.create({ dataBlocks: k, parityBlocks: m })
      assert.notEqual(rs.kernel, 'scalar')
      assert.equal(rs.totalBlocks, k + m)
      const random = seededRandom(k * 1000 + m)
      const n = k + m
      for (const length of LENGTHS) {
        if (!budgetOk(k, m, length)) continue
        const { data, parity } = stripe(random, k, m, length)
        rs.encode(data, parity)
        const blocks = [...data, ...parity]
        assert.equal(rs.verify(blocks), true)
        const patterns = n <= 8 ? [...subsetsUpTo(n, m)] : Array.from({ length: 6 }, (_, t) => randomSubset(random, n, t === 0 ? m : Math.floor(random() * (m + 1))))
        for (const lost of patterns) {
          const rebuilt = rs.reconstruct(erase(blocks, lost))
          assert.equal(rebuilt.length, n)
          for (let i = 0; i < n; i++) {
            assert.deepEqual(rebuilt[i], blocks[i], `${k}+${m} length ${length} lost [${lost}] block ${i}`)
            if (!lost.includes(i)) assert.equal(rebuilt[i], blocks[i], 'present blocks are returned as the same objects')
          }
        }
      }
    })
  }
})

describe('more than m erasures fail with ERASURE_ERR_TOO_FEW_BLOCKS', () => {
  for (const [k, m] of CONFIGS) {
    test(`${k}+${m}`, async () => {
      const rs = await ReedSolomon.create({ dataBlocks: k, parityBlocks: m })
      const random = seededRandom(7 * k + m)
      const { data, parity } = stripe(random, k, m, 5)
      rs.encode(data, parity)
      const blocks = [...data, ...parity]
      for (let lost = m + 1; lost <= Math.min(k + m, m + 3); lost++) {
        assert.throws(() => rs.reconstruct(erase(blocks, randomSubset(random, k + m, lost))), withCode('ERASURE_ERR_TOO_FEW_BLOCKS'))
      }
      assert.throws(() => rs.reconstruct(blocks.map(() => undefined)), withCode('ERASURE_ERR_TOO_FEW_BLOCKS'))
    })
  }
})

describe('verify detects a flipped byte in any block', () => {
  for (const [k, m] of CONFIGS) {
    if (m === 0) continue
    test(`${k}+${m}`, async () => {
      const rs = await ReedSolomon.create({ dataBlocks: k, parityBlocks: m })
      const random = seededRandom(31 * k + m)
      for (const length of [1, 17, 4095]) {
        const { data, parity } = stripe(random, k, m, length)
        rs.encode(data, parity)
        const blocks = [...data, ...parity]
        for (let i = 0; i < k + m; i++) {
          const at = Math.floor(random() * length)
          const bit = 1 << Math.floor(random() * 8)
          blocks[i]![at]! ^= bit
          assert.equal(rs.verify(blocks), false, `block ${i} byte ${at} of ${length}`)
          blocks[i]![at]! ^= bit
        }
        assert.equal(rs.verify(blocks), true)
      }
    })
  }
})

test('SIMD kernel output equals the scalar oracle, encode and reconstruct', async () => {
  const random = seededRandom(42)
  for (const [k, m] of [[1, 1], [3, 2], [4, 2], [6, 9], [10, 4], [17, 3], [20, 20]] as const) {
    const simd = await ReedSolomon.create({ dataBlocks: k, parityBlocks: m })
    const scalar = await ReedSolomon.create({ dataBlocks: k, parityBlocks: m, kernel: 'scalar' })
    assert.equal(scalar.kernel, 'scalar')
    for (const length of [1, 31, 32, 1000, 70_001]) {
      const data = Array.from({ length: k }, () => randomBytes(random, length))
      const fast = Array.from({ length: m }, () => new Uint8Array(length))
      const slow = Array.from({ length: m }, () => new Uint8Array(length))
      simd.encode(data, fast)
      scalar.encode(data, slow)
      assert.deepEqual(fast, slow, `${k}+${m} length ${length}`)
      const lost = randomSubset(random, k + m, m)
      const blocks = [...data, ...fast]
      assert.deepEqual(simd.reconstruct(erase(blocks, lost)), scalar.reconstruct(erase(blocks, lost)))
      assert.equal(scalar.verify(blocks), true)
    }
  }
})

test('reconstruct { dataOnly } rebuilds data only; { targets } writes into the given buffers', async () => {
  const rs = await ReedSolomon.create({ dataBlocks: 4, parityBlocks: 2 })
  const { data, parity } = stripe(seededRandom(9), 4, 2, 100)
  rs.encode(data, parity)
  const blocks = [...data, ...parity]
  const dataOnly = rs.reconstruct(erase(blocks, [1, 5]), { dataOnly: true })
  assert.deepEqual(dataOnly[1], data[1])
  assert.equal(dataOnly[5], undefined)
  const full = rs.reconstruct(erase(blocks, [1, 5]))
  assert.deepEqual(full[5], parity[1])

  const targets = [undefined, new Uint8Array(100), undefined, undefined, undefined, undefined]
  const into = rs.reconstruct(erase(blocks, [1, 5]), { targets })
  assert.equal(into[1], targets[1])
  assert.deepEqual(into[1], data[1])
  assert.deepEqual(into[5], parity[1])
  assert.throws(() => rs.reconstruct(erase(blocks, [1]), { targets: [undefined, new Uint8Array(99)] }), withCode('ERASURE_ERR_BLOCK_SIZE'))

  // Nothing missing: a copy of the array with the same objects.
  const same = rs.reconstruct(blocks)
  assert.notEqual(same, blocks)
  same.forEach((b, i) => assert.equal(b, blocks[i]))
  // Input array is not modified.
  const holes = erase(blocks, [0])
  rs.reconstruct(holes)
  assert.equal(holes[0], undefined)
})

test('decode plans are cached per erasure pattern and stay correct across many patterns', async () => {
  const rs = await ReedSolomon.create({ dataBlocks: 6, parityBlocks: 3 })
  const random = seededRandom(3)
  const { data, parity } = stripe(random, 6, 3, 48)
  rs.encode(data, parity)
  const blocks = [...data, ...parity]
  // 130 draws over 130 patterns (> the 64-entry cache): hits, misses and evictions.
  for (let t = 0; t < 130; t++) {
    const lost = randomSubset(random, 9, 1 + (t % 3))
    assert.deepEqual(rs.reconstruct(erase(blocks, lost)), blocks)
  }
})

test('kernel memory grows and shrinking calls still work (views re-derived after grow)', async () => {
  const random = seededRandom(5)
  const small = await ReedSolomon.create({ dataBlocks: 2, parityBlocks: 1 })
  const big = await ReedSolomon.create({ dataBlocks: 200, parityBlocks: 56 })
  for (const [rs, length] of [[small, 10], [big, 3000], [small, 40_000], [big, 17]] as const) {
    const { data, parity } = stripe(random, rs.dataBlocks, rs.parityBlocks, length)
    rs.encode(data, parity)
    const blocks = [...data, ...parity]
    const lost = randomSubset(random, rs.totalBlocks, rs.parityBlocks)
    assert.deepEqual(rs.reconstruct(erase(blocks, lost)), blocks)
  }
})

describe('argument errors', () => {
  test('invalid options fail at create, naming the option', async () => {
    const cases: [unknown, string][] = [
      [{ dataBlocks: 0, parityBlocks: 2 }, 'dataBlocks'],
      [{ dataBlocks: 1.5, parityBlocks: 2 }, 'dataBlocks'],
      [{ dataBlocks: '4', parityBlocks: 2 }, 'dataBlocks'],
      [{ dataBlocks: 257, parityBlocks: 0 }, 'dataBlocks'],
      [{ parityBlocks: 2 }, 'dataBlocks'],
      [{ dataBlocks: 4, parityBlocks: -1 }, 'parityBlocks'],
      [{ dataBlocks: 4, parityBlocks: Number.NaN }, 'parityBlocks'],
      [{ dataBlocks: 200, parityBlocks: 57 }, 'dataBlocks + parityBlocks'],
      [{ dataBlocks: 4, parityBlocks: 2, kernel: 'gpu' }, 'kernel'],
      [null, 'options'],
    ]
    for (const [options, name] of cases) {
      await assert.rejects(ReedSolomon.create(options as never), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERASURE_ERR_INVALID_ARGUMENT')
        assert.ok(err.message.includes(`\`${name}\``), err.message)
        return true
      })
    }
  })

  test('wrong block counts and sizes', async () => {
    const rs = await ReedSolomon.create({ dataBlocks: 3, parityBlocks: 2 })
    const b = (n: number) => new Uint8Array(n)
    assert.throws(() => rs.encode([b(4), b(4)], [b(4), b(4)]), withCode('ERASURE_ERR_BLOCK_COUNT'))
    assert.throws(() => rs.encode([b(4), b(4), b(4)], [b(4)]), withCode('ERASURE_ERR_BLOCK_COUNT'))
    assert.throws(() => rs.encode([b(4), b(4), b(5)], [b(4), b(4)]), withCode('ERASURE_ERR_BLOCK_SIZE'))
    assert.throws(() => rs.encode([b(4), b(4), b(4)], [b(4), b(3)]), withCode('ERASURE_ERR_BLOCK_SIZE'))
    assert.throws(() => rs.encode([b(4), b(4), [1, 2, 3, 4] as never], [b(4), b(4)]), withCode('ERASURE_ERR_INVALID_ARGUMENT'))
    assert.throws(() => rs.verify([b(4), b(4), b(4), b(4)]), withCode('ERASURE_ERR_BLOCK_COUNT'))
    assert.throws(() => rs.verify([b(4), b(4), b(4), b(4), b(2)]), withCode('ERASURE_ERR_BLOCK_SIZE'))
    assert.throws(() => rs.reconstruct([b(4), b(4), b(4), b(4)]), withCode('ERASURE_ERR_BLOCK_COUNT'))
    assert.throws(() => rs.reconstruct([b(4), undefined, b(4), b(3), undefined]), withCode('ERASURE_ERR_BLOCK_SIZE'))
  })
})
