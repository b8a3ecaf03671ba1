import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Manifest, StripeRecord } from '@tessera/storage'
import { DurabilityEngine, FILL_HEADROOM, fillingBackends, planPredictive, type BackendRiskReport, type CapacityReading, type PlanInput } from '../src/index.js'
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
    filling: new Map(),
    ...extra,
  }
}

const healthy = (p: number) => Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`b${i}`, p]))

describe('fillingBackends', () => {
  const GB = 1e9
  const at = (atMs: number, freeBytes: number): CapacityReading => ({ atMs, totalBytes: 100 * GB, freeBytes })
  const options = { now: 10_000, horizonMs: 60_000, minFreeFraction: 0.05, blockBytes: 1e6, excluded: new Set<string>() }

  it('a backend below the floor gives up enough blocks to end FILL_HEADROOM above it; one trending there within the horizon too', () => {
    const history = new Map([
      ['full', [at(0, 2 * GB), at(10_000, 2 * GB)]], // 2 % free: move (5 % + 5 %) × 100 GB − 2 GB = 8 GB
      ['filling', [at(0, 30 * GB), at(10_000, 25 * GB)]], // −0.5 GB/s: 25 − 30 = −5 GB in 60 s → below 5 % within the horizon
      ['steady', [at(0, 50 * GB), at(10_000, 50 * GB)]],
      ['slowly', [at(0, 50 * GB), at(10_000, 49.9 * GB)]], // −0.01 GB/s: 49.3 GB at the horizon
    ])
    const out = fillingBackends(history, options)
    assert.deepEqual([...out.keys()].sort(), ['filling', 'full'])
    assert.equal(out.get('full'), Math.ceil(((0.05 + FILL_HEADROOM) * 100 * GB - 2 * GB) / 1e6))
    assert.equal(out.get('filling'), Math.ceil(((0.05 + FILL_HEADROOM) * 100 * GB - (25 * GB - 0.5 * GB * 60)) / 1e6))
  })

  it('nothing when no other backend has room (all full, or the roomy ones are down or risky)', () => {
    const history = new Map([
      ['a', [at(10_000, 1 * GB)]],
      ['b', [at(10_000, 50 * GB)]],
    ])
    assert.equal(fillingBackends(history, options).size, 1)
    assert.equal(fillingBackends(history, { ...options, excluded: new Set(['b']) }).size, 0)
    assert.equal(fillingBackends(new Map([['a', [at(10_000, 1 * GB)]], ['c', [at(10_000, 2 * GB)]]]), options).size, 0)
  })
})

describe('planPredictive', () => {
  it('migrates as many blocks off a filling backend as its shortfall, riskiest objects first, and none off a healthy one', () => {
    const objects: Record<string, Manifest> = {}
    for (let i = 0; i < 3; i++) objects[`o${i}`] = manifest([stripe(['b0', 'b1', 'b2', 'b3', 'b4', 'b5'])])
    const tasks = planPredictive(input(objects, healthy(0.0001), { filling: new Map([['b0', 2]]) }))
    const migrations = tasks.filter((t) => t.kind === 'migrate')
    assert.equal(migrations.length, 2)
    for (const t of migrations) {
      assert.equal(t.reason, 'backend-filling')
      assert.equal(t.payload.backend, 'b0')
    }
  })

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
