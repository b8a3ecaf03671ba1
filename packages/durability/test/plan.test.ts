import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Manifest, StripeRecord } from '@tessera/storage'
import { DurabilityEngine, planPredictive, type BackendRiskReport, type PlanInput } from '../src/index.js'
import { generationPriority } from '@tessera/predict'
import { placementOf } from '../src/index.js'
import { BLOCK, bytes, rig } from './helpers/rig.js'

function stripe(backends: (string | null)[], parity = 2): StripeRecord {
  return { bytes: 4 * BLOCK, blockBytes: BLOCK, dataBlocks: 4, parityBlocks: parity, blocks: backends.map((b, i) => (b === null ? null : { backend: b, key: `o/${i}`, checksum: '0000000000000000' })) }
}

function manifest(stripes: StripeRecord[]): Manifest {
  return { version: 1, stripes, sources: [], referrers: [], deleted: false }
}

function risk(backend: string, probability: number, unavailable = false): BackendRiskReport {
  return { backend, probability, outage: probability, degradation: 0, forecastErrorRate: 0, forecastLatencyMs: 10, unavailable, samples: 10 }
}

function input(objects: Record<string, Manifest>, risks: Record<string, number | 'down'>, extra: Partial<PlanInput> = {}): PlanInput {
  const r = new Map(Object.entries(risks).map(([b, p]) => [b, p === 'down' ? risk(b, 1, true) : risk(b, p)]))
  const idx = new Map(Object.entries(objects).map(([objectId, m]) => [objectId, { objectId, manifest: m }]))
  return {
    objects: idx,
    priority: generationPriority([...idx.values()].map((o) => placementOf(o.objectId, o.manifest)), new Map([...r].map(([b, x]) => [b, x.probability]))),
    risks: r,
    now: 1000,
    baseParity: 2,
    maxParity: 4,
    migrateRiskThreshold: 0.5,
    addParityThreshold: 0.001,
    dropParityThreshold: 0.0001,
    dropParityAfterMs: 500,
    maxBoostedObjects: 10,
    maxTasks: 100,
    calmSince: new Map(),
    ...extra,
  }
}

const healthy = (p: number) => Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`b${i}`, p]))

describe('planPredictive', () => {
  it('migrates blocks off a risky backend and regenerates those on a down one — and adds no parity for that alone', () => {
    const tasks = planPredictive(input({ a: manifest([stripe(['b0', 'b1', 'b2', 'b3', 'b4', 'b5'])]) }, { ...healthy(0.0007), b1: 0.9, b4: 'down' }))
    assert.deepEqual(tasks.map((t) => [t.kind, t.reason, t.payload.stripe, t.payload.block ?? (t.payload.blocks as { index: number }[]).map((b) => b.index)]), [
      ['regenerate', 'backend-down', 0, [4]],
      ['migrate', 'backend-risk', 0, 1],
    ])
    assert.ok(tasks[0]!.priority > tasks[1]!.priority)
  })

  it('adds one parity block per evaluation against diffuse risk, up to the cap', () => {
    const tasks = planPredictive(input({ a: manifest([stripe(['b0', 'b1', 'b2', 'b3', 'b4', 'b5'])]), c: manifest([stripe(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'], 4)]) }, healthy(0.2)))
    assert.deepEqual(tasks.map((t) => [t.kind, t.payload.objectId, t.payload.parityBlocks]), [['add-parity', 'a', 3]]) // c is at the cap
  })

  it('drops added parity only after the risk stayed below the drop threshold long enough (hysteresis)', () => {
    const boosted = { a: manifest([stripe(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6'], 3)]) }
    const calmSince = new Map<string, number>()
    assert.deepEqual(planPredictive(input(boosted, healthy(0.0007), { calmSince, now: 1000 })), []) // calm from now on
    assert.equal(calmSince.get('a'), 1000)
    assert.deepEqual(planPredictive(input(boosted, healthy(0.0007), { calmSince, now: 1400 })), [])
    const later = planPredictive(input(boosted, healthy(0.0007), { calmSince, now: 1500 }))
    assert.deepEqual(later.map((t) => [t.kind, t.payload.parityBlocks, t.reason]), [['drop-parity', 2, 'risk-passed']])
    // Between the thresholds: neither add nor drop, and the calm clock restarts.
    assert.deepEqual(planPredictive(input(boosted, healthy(0.06), { calmSince, now: 1600 })), []) // 35·0.06⁴ ≈ 4.5e-4
    assert.equal(calmSince.has('a'), false)
  })

  it('plans no regeneration that has no live backend to go to', () => {
    const full = { a: manifest([stripe(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'], 4)]) }
    assert.deepEqual(planPredictive(input(full, { ...healthy(0.0007), b3: 'down' })).filter((t) => t.kind === 'regenerate'), [])
  })
})

describe('DurabilityEngine parity on a real store', () => {
  it('adds parity against diffuse backend risk, then drops it back when the risk has passed', async () => {
    const r = await rig()
    try {
      const data = bytes(2 * 4 * BLOCK, 5)
      await r.put('p', data)
      // A prior of one outage per hour on every backend: P(unavailable within 30 min) ≈ 0.33 each.
      const risky = new DurabilityEngine({ store: r.store, health: r.health, clock: r.clock, policy: 'predictive', risk: { failureRate: { priorOutages: 1, priorExposureMs: 3_600_000 } } })
      for (const expected of [3, 4, 4]) {
        await risky.evaluate()
        await risky.idle()
        assert.deepEqual((await r.manifest('p')).stripes.map((s) => s.parityBlocks), [expected, expected])
      }
      await risky.stop()
      const calm = new DurabilityEngine({ store: r.store, health: r.health, clock: r.clock, policy: 'predictive', dropParityAfterMs: 0 })
      await calm.evaluate()
      await calm.idle()
      const m = await r.manifest('p')
      assert.deepEqual(m.stripes.map((s) => [s.parityBlocks, s.blocks.length]), [[2, 6], [2, 6]])
      assert.ok((await r.readAll('p')).equals(data))
      assert.equal(calm.status().totals['drop-parity']?.done, 1)
      await calm.stop()
    } finally {
      await r.close()
    }
  })
})
