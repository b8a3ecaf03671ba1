import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generationPriority, objectLossProbability, poissonBinomialPmf, probabilityMoreThan, stripeLossProbability } from '../src/index.js'
import { seededRandom } from './simulation.js'

// Sums of ≤ 2^12 products of probabilities: 1e-12 absolute.
const close = (actual: number, expected: number, tol = 1e-12, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`)
const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c

/** P(exactly j) by enumerating all 2^n outcomes. */
function bruteForcePmf(ps: readonly number[]): number[] {
  const pmf = new Array<number>(ps.length + 1).fill(0)
  for (let mask = 0; mask < 1 << ps.length; mask++) {
    let w = 1
    let j = 0
    ps.forEach((p, i) => {
      if (mask & (1 << i)) {
        w *= p
        j++
      } else w *= 1 - p
    })
    pmf[j]! += w
  }
  return pmf
}

test('Poisson-binomial pmf matches brute-force enumeration (property, seeded, n ≤ 12)', () => {
  const rng = seededRandom(5)
  for (let trial = 0; trial < 300; trial++) {
    const n = Math.floor(rng() * 13)
    // Mix in exact 0s and 1s: lost blocks and perfectly safe backends.
    const ps = Array.from({ length: n }, () => (rng() < 0.1 ? 0 : rng() < 0.1 ? 1 : rng()))
    const pmf = poissonBinomialPmf(ps)
    const brute = bruteForcePmf(ps)
    assert.equal(pmf.length, n + 1)
    pmf.forEach((v, j) => close(v, brute[j]!, 1e-12, `trial ${trial} j=${j}`))
    close(pmf.reduce((a, b) => a + b, 0), 1, 1e-12)
    const m = Math.floor(rng() * (n + 2)) - 1
    close(probabilityMoreThan(ps, m), brute.slice(m + 1).reduce((a, b) => a + b, 0), 1e-12, `tail > ${m}`)
  }
})

test('stripe loss by hand: 4+2 with every block at p = 0.1, and with one block already lost', () => {
  // P(> 2 of 6 lost) = 1 − Σ_{j≤2} C(6,j) 0.1^j 0.9^(6−j) = 1 − (0.531441 + 0.354294 + 0.098415) = 0.01585
  const ids = ['a', 'b', 'c', 'd', 'e', 'f']
  const risks = Object.fromEntries(ids.map((id) => [id, 0.1]))
  close(stripeLossProbability({ parityBlocks: 2, backends: ids }, risks), 0.01585, 1e-12)
  // Block 0 missing: P(> 1 of the other 5 lost) = 1 − 0.9^5 − 5·0.1·0.9^4 = 1 − 0.59049 − 0.32805 = 0.08146
  close(stripeLossProbability({ parityBlocks: 2, backends: [null, ...ids.slice(1)] }, risks), 0.08146, 1e-12)
  // An unknown backend counts as lost (fail safe).
  close(stripeLossProbability({ parityBlocks: 0, backends: ['zzz'] }, risks), 1)
  assert.throws(() => stripeLossProbability({ parityBlocks: 1, backends: ['a', 'b'] }, { a: 1.5, b: 0 }), code('PREDICT_ERR_INVALID_ARGUMENT'))
  assert.throws(() => probabilityMoreThan([0.5], 0.5), code('PREDICT_ERR_INVALID_ARGUMENT'))
})

test('object loss: exact equals the worst stripe when stripes share backends, and lies between the bounds otherwise', () => {
  const risks = new Map([['a', 0.2], ['b', 0.1], ['c', 0.3], ['d', 0.05]])
  // Two 1+1 stripes on the same pair, in different block order: one placement, P = 0.2·0.1 = 0.02.
  const same = objectLossProbability({ objectId: 'o', stripes: [{ parityBlocks: 1, backends: ['a', 'b'] }, { parityBlocks: 1, backends: ['b', 'a'] }] }, risks)
  assert.equal(same.exact, true)
  close(same.probability, 0.02)
  close(same.worstStripe, 0.02)
  close(same.upperBound, 1 - 0.98 * 0.98)
  // Stripes (a,b) and (b,c) share b: P(lost) = P(b)·P(a ∪ c) = 0.1·(1 − 0.8·0.7) = 0.044, by hand.
  const shared = objectLossProbability({ objectId: 'o', stripes: [{ parityBlocks: 1, backends: ['a', 'b'] }, { parityBlocks: 1, backends: ['b', 'c'] }] }, risks)
  close(shared.probability, 0.044)
  close(shared.worstStripe, 0.03)
  close(shared.upperBound, 1 - 0.98 * 0.97)
  assert.ok(shared.worstStripe <= shared.probability && shared.probability <= shared.upperBound)
  // Beyond the enumeration limit the upper bound is reported.
  const approx = objectLossProbability({ objectId: 'o', stripes: [{ parityBlocks: 1, backends: ['a', 'b'] }, { parityBlocks: 1, backends: ['b', 'c'] }] }, risks, { exactBackendLimit: 2 })
  assert.equal(approx.exact, false)
  close(approx.probability, approx.upperBound)
  // A stripe already missing more than m blocks is lost for sure.
  close(objectLossProbability({ objectId: 'o', stripes: [{ parityBlocks: 1, backends: [null, null, 'd'] }] }, risks).probability, 1)
})

test('generation priority sorts by object risk, ties by id, and is pure', () => {
  const risks = { a: 0.5, b: 0.01, c: 0.01, d: 0.01 }
  const placements = [
    { objectId: 'safe', stripes: [{ parityBlocks: 1, backends: ['b', 'c', 'd'] }] },
    { objectId: 'risky', stripes: [{ parityBlocks: 1, backends: ['a', 'b', 'c'] }] },
    { objectId: 'degraded', stripes: [{ parityBlocks: 1, backends: [null, 'b', 'c'] }] },
    { objectId: 'also-safe', stripes: [{ parityBlocks: 1, backends: ['c', 'd', 'b'] }] },
  ]
  const before = JSON.stringify(placements)
  const list = generationPriority(placements, risks)
  // A block already lost outweighs one risky backend:
  // degraded: P(≥ 1 of {0.01, 0.01}) = 1 − 0.99² = 0.0199
  // risky: P(≥ 2 of {0.5, 0.01, 0.01}) = 0.5·(1 − 0.99²) + 0.5·0.01² = 0.01
  assert.deepEqual(list.map((e) => e.objectId), ['degraded', 'risky', 'also-safe', 'safe'])
  close(list[0]!.probability, 1 - 0.99 ** 2)
  close(list[1]!.probability, 0.5 * (1 - 0.99 ** 2) + 0.5 * 0.0001)
  assert.equal(JSON.stringify(placements), before)
})
