import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decideHedges } from '../src/index.js'

const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c

test('hedges the riskiest attempts first, within the budget, nothing under the threshold', () => {
  const candidates = [
    { id: 'a', risk: 0.35, hedgeBytes: 10 },
    { id: 'b', risk: 0.9, hedgeBytes: 30 },
    { id: 'c', risk: 0.29, hedgeBytes: 1 },
    { id: 'd', risk: 0.6, hedgeBytes: 15 },
    { id: 'e', risk: 0.5, hedgeBytes: 40 },
  ]
  // budget = 5 % of 1000 = 50 bytes, 0 spent: b (30) → d (15, total 45) → e (40) does not fit → a (10) does not fit
  const d = decideHedges(candidates, { uploadBytes: 1000, spentBytes: 0 })
  assert.deepEqual(d.hedge.map((c) => c.id), ['b', 'd'])
  assert.equal(d.budgetBytes, 50)
  assert.equal(d.spentBytes, 45)
  assert.equal(d.remainingBytes, 5)
  // 20 already spent: b (30 → 50) fits exactly, nothing else does
  assert.deepEqual(decideHedges(candidates, { uploadBytes: 1000, spentBytes: 20 }).hedge.map((c) => c.id), ['b'])
  // a candidate too large for the budget is skipped and a smaller, lower-risk one still goes
  assert.deepEqual(decideHedges(candidates, { uploadBytes: 1000, spentBytes: 25 }).hedge.map((c) => c.id), ['d', 'a'])
  // budget exhausted: nothing
  const none = decideHedges(candidates, { uploadBytes: 1000, spentBytes: 60 })
  assert.deepEqual(none.hedge, [])
  assert.equal(none.remainingBytes, 0)
})

test('threshold and budget fraction are options; ties keep input order; the input is not reordered', () => {
  const candidates = [
    { id: 'x', risk: 0.5, hedgeBytes: 1 },
    { id: 'y', risk: 0.5, hedgeBytes: 1 },
    { id: 'z', risk: 0.2, hedgeBytes: 1 },
  ]
  const d = decideHedges(candidates, { uploadBytes: 100, spentBytes: 0 }, { riskThreshold: 0.1, budgetFraction: 1 })
  assert.deepEqual(d.hedge.map((c) => c.id), ['x', 'y', 'z'])
  assert.deepEqual(decideHedges(candidates, { uploadBytes: 100, spentBytes: 0 }, { riskThreshold: 0.6, budgetFraction: 1 }).hedge, [])
  assert.deepEqual(candidates.map((c) => c.id), ['x', 'y', 'z'])
})

test('property: over random inputs the budget holds, the order is by risk, and every pick clears the threshold', () => {
  let seed = 7
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
  for (let round = 0; round < 200; round++) {
    const candidates = Array.from({ length: 1 + Math.floor(rnd() * 12) }, (_, i) => ({ id: i, risk: rnd(), hedgeBytes: Math.floor(rnd() * 200) }))
    const spentBytes = Math.floor(rnd() * 60)
    const d = decideHedges(candidates, { uploadBytes: 2000, spentBytes })
    const picked = d.hedge.reduce((s, c) => s + c.hedgeBytes, 0)
    assert.ok(spentBytes + picked <= Math.max(spentBytes, d.budgetBytes))
    assert.equal(d.spentBytes, spentBytes + picked)
    for (const c of d.hedge) assert.ok(c.risk >= 0.3)
    for (let i = 1; i < d.hedge.length; i++) assert.ok(d.hedge[i - 1]!.risk >= d.hedge[i]!.risk)
    // greedy completeness: every eligible candidate left out would have overflowed the budget when it was considered
    const left = candidates.filter((c) => c.risk >= 0.3 && !d.hedge.includes(c))
    for (const c of left) assert.ok(c.hedgeBytes > d.remainingBytes)
  }
})

test('bad risks and bytes are rejected naming the field', () => {
  assert.throws(
    () => decideHedges([{ risk: 1.5, hedgeBytes: 1 }], { uploadBytes: 10, spentBytes: 0 }),
    (err: Error & { code?: string }) => err.code === 'PREDICT_ERR_INVALID_ARGUMENT' && err.message.includes('`candidates[0].risk`'),
  )
  assert.throws(() => decideHedges([], { uploadBytes: -1, spentBytes: 0 }), code('PREDICT_ERR_INVALID_ARGUMENT'))
})
