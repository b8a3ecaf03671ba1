import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import type { BlockRef, Manifest } from '@tessera/storage'
import { DurabilityEngine, type DurabilityEvent } from '../src/index.js'
import { BLOCK, bytes, rig, type Rig } from './helpers/rig.js'

const rigs: Rig[] = []
after(async () => Promise.all(rigs.map((r) => r.close())))

async function setup(objects = 6, size = 3 * 4 * BLOCK - 100): Promise<{ r: Rig; data: Map<string, Buffer> }> {
  const r = await rig()
  rigs.push(r)
  const data = new Map<string, Buffer>()
  for (let i = 0; i < objects; i++) {
    const d = bytes(size, i + 1)
    await r.put(`obj${i}`, d)
    data.set(`obj${i}`, d)
  }
  return { r, data }
}

function blocksOn(m: Manifest, backend: string): number {
  return m.stripes.reduce((n, s) => n + s.blocks.filter((b) => b?.backend === backend).length, 0)
}

async function assertIntact(r: Rig, data: Map<string, Buffer>): Promise<void> {
  for (const [id, d] of data) assert.ok((await r.readAll(id)).equals(d), `${id} reads back intact`)
}

/** Flips one byte of a stored block on the medium itself (bit rot: the backend answers, wrongly). */
async function rot(r: Rig, ref: BlockRef): Promise<void> {
  const inner = r.fs[Number(ref.backend.slice(1))]!
  const b = Buffer.from(await inner.read(ref.key))
  b[7] = b[7]! ^ 0x5a
  await inner.put(ref.key, b)
}

describe('DurabilityEngine', () => {
  it('policy none does nothing: no task, no manifest change, even with a lost block and a read fault', async () => {
    const { r } = await setup(2)
    const engine = new DurabilityEngine({ store: r.store, health: r.health, policy: 'none', clock: r.clock })
    const before = await r.manifest('obj0')
    const ref = before.stripes[0]!.blocks[1]!
    await r.fs[Number(ref.backend.slice(1))]!.delete(ref.key)
    r.faulty[3]!.setFaults({ gone: true })
    await engine.onFault({ objectId: 'obj0', stripe: 0, block: 1, backend: ref.backend, kind: 'missing' })
    await r.health.probeAll()
    r.health.sample()
    const report = await engine.evaluate()
    assert.equal(report.queued, 0)
    assert.equal(await engine.scrubSoon().catch(() => false), true) // an explicit request still runs...
    await engine.idle()
    assert.deepEqual(await r.manifest('obj0'), before) // ...but repairs nothing
    assert.equal(engine.status().totals.regenerate, undefined)
    assert.equal(engine.status().totals.migrate, undefined)
    await engine.stop()
  })

  it('predictive: a backend going bad gets its blocks migrated before it dies, riskiest objects first', async () => {
    const { r, data } = await setup(6)
    const engine = new DurabilityEngine({ store: r.store, health: r.health, policy: 'predictive', clock: r.clock })
    const events: DurabilityEvent[] = []
    engine.onEvent((e) => events.push(e))
    const bad = r.faulty[2]!
    const onBad = async () => {
      let n = 0
      for (const id of data.keys()) n += blocksOn(await r.manifest(id), 'b2')
      return n
    }
    assert.ok((await onBad()) > 0)
    // Six one-minute windows, each with ten probes; b2's error rate climbs 0 → 0.4.
    for (let w = 0; w < 6; w++) {
      bad.setFaults({ errorRate: 0.08 * w })
      for (let p = 0; p < 10; p++) await r.health.probeAll()
      await r.clock.advance(60_000)
      r.health.sample()
    }
    const risk = engine.risk.backendRisk('b2')
    assert.ok(risk.probability >= 0.5, `b2 risk ${risk.probability}`)
    assert.ok(engine.risk.backendRisk('b0').probability < 0.5)
    const report = await engine.evaluate()
    assert.ok(report.queued > 0)
    await engine.idle()
    bad.setFaults({ errorRate: 0 })
    // Migrations that hit one of b2's injected errors failed; the next evaluation re-plans them.
    for (let i = 0; i < 5 && (await onBad()) > 0; i++) {
      await engine.evaluate()
      await engine.idle()
    }
    assert.equal(await onBad(), 0)
    const migrations = events.filter((e) => e.action === 'migrate' && e.outcome === 'done')
    assert.ok(migrations.length > 0)
    for (const e of migrations) {
      assert.equal(e.reason, 'backend-risk')
      assert.equal(e.backend, 'b2')
      assert.notEqual(e.targets?.[0], 'b2')
      assert.ok((e.risk ?? 0) >= 0.5)
    }
    await assertIntact(r, data)
    await engine.evaluate()
    const status = engine.status()
    assert.deepEqual(JSON.parse(JSON.stringify(status)), status)
    assert.ok(status.io.migrate.bytesWritten > 0)
    assert.equal(status.backends.find((b) => b.backend === 'b2')!.blocks, 0)
    await engine.stop()
  })

  it('predictive: a backend found down has its blocks regenerated elsewhere', async () => {
    const { r, data } = await setup(4)
    const engine = new DurabilityEngine({ store: r.store, health: r.health, policy: 'predictive', clock: r.clock })
    r.health.sample() // the window of the uploads
    r.faulty[5]!.setFaults({ gone: true })
    await r.health.probeAll()
    await r.clock.advance(60_000)
    r.health.sample()
    assert.equal(engine.risk.backendRisk('b5').unavailable, true)
    await engine.evaluate()
    await engine.idle()
    for (const id of data.keys()) assert.equal(blocksOn(await r.manifest(id), 'b5'), 0)
    assert.ok((engine.status().totals.regenerate?.done ?? 0) > 0)
    await assertIntact(r, data)
    await engine.stop()
  })

  it('a repair with nowhere to write (exactly k+m backends, one gone) is not queued again until its backoff passes', async () => {
    const r = await rig({ width: 6 })
    rigs.push(r)
    await r.put('obj0', bytes(4 * BLOCK, 9))
    const engine = new DurabilityEngine({ store: r.store, health: r.health, policy: 'reactive', clock: r.clock })
    const events: DurabilityEvent[] = []
    engine.onEvent((e) => events.push(e))
    const ref = (await r.manifest('obj0')).stripes[0]!.blocks[1]!
    r.faulty[Number(ref.backend.slice(1))]!.setFaults({ gone: true })
    const fault = { objectId: 'obj0', stripe: 0, block: 1, backend: ref.backend, kind: 'missing' as const }
    const regenerations = () => events.filter((e) => e.action === 'regenerate')
    await engine.onFault(fault)
    await engine.idle()
    assert.deepEqual(regenerations().map((e) => [e.outcome, e.code]), [['failed', 'STORAGE_ERR_WRITE_QUORUM']])
    // Every GET of the object reports the block again: none of these runs the doomed repair.
    for (let i = 0; i < 5; i++) await engine.onFault(fault)
    await engine.idle()
    assert.equal(regenerations().length, 1)
    assert.equal(engine.status().totals.regenerate?.deferred, 5)
    // After the backoff (30 s, then doubling) it is tried again, and fails again.
    await r.clock.advance(30_000)
    await engine.onFault(fault)
    await engine.idle()
    assert.equal(regenerations().length, 2)
    await r.clock.advance(30_000)
    await engine.onFault(fault)
    await engine.idle()
    assert.equal(regenerations().length, 2, 'the second wait is 60 s')
    await engine.stop()
  })

  it('a verification mismatch on the first target regenerates the block on another backend', async () => {
    const { r, data } = await setup(1, 4 * BLOCK)
    const engine = new DurabilityEngine({ store: r.store, health: r.health, policy: 'reactive', clock: r.clock })
    const events: DurabilityEvent[] = []
    engine.onEvent((e) => events.push(e))
    const m = await r.manifest('obj0')
    const stripe = m.stripes[0]!
    const ref = stripe.blocks[0]!
    const used = new Set(stripe.blocks.map((b) => b!.backend))
    // The default target order is the backends the stripe does not use, in store order: make the
    // first of them hand back a flipped byte on every read, so the read-back check fails there.
    const first = r.faulty.find((b) => !used.has(b.id))!
    first.setFaults({ corruptRate: 1, ops: ['read'] })
    await r.fs[Number(ref.backend.slice(1))]!.delete(ref.key)
    await engine.onFault({ objectId: 'obj0', stripe: 0, block: 0, backend: ref.backend, kind: 'missing' })
    await engine.idle()
    const done = events.find((e) => e.action === 'regenerate' && e.outcome === 'done')!
    assert.ok(done, 'regenerated')
    assert.equal(done.reason, 'read-missing')
    assert.equal(done.detail?.rejected, 1)
    assert.equal(done.detail?.verifiedBy, 'k-subset')
    const now = (await r.manifest('obj0')).stripes[0]!.blocks[0]!
    assert.notEqual(now.backend, first.id)
    assert.ok(!used.has(now.backend) || now.backend === ref.backend)
    first.setFaults({ corruptRate: 0 })
    await assertIntact(r, data)
    await engine.stop()
  })

  it('scrubbing finds an injected corruption and repairs it; the next pass finds nothing', async () => {
    const { r, data } = await setup(3)
    const engine = new DurabilityEngine({ store: r.store, health: r.health, policy: 'reactive', clock: r.clock, scrubStripesPerPass: 100 })
    const events: DurabilityEvent[] = []
    engine.onEvent((e) => events.push(e))
    const before = (await r.manifest('obj1')).stripes[1]!.blocks[4]!
    await rot(r, before)
    await engine.scrubSoon()
    await engine.idle()
    const scrubs = events.filter((e) => e.action === 'scrub')
    assert.equal(scrubs[0]!.detail?.faults, 1)
    const repaired = events.find((e) => e.action === 'regenerate' && e.outcome === 'done')!
    assert.deepEqual([repaired.objectId, repaired.stripe, repaired.block, repaired.reason], ['obj1', 1, 4, 'scrub-corrupt'])
    const after = (await r.manifest('obj1')).stripes[1]!.blocks[4]!
    assert.notEqual(after.key, before.key)
    assert.equal(after.checksum, before.checksum)
    await r.clock.advance(1000)
    await engine.scrubSoon()
    await engine.idle()
    assert.equal(events.filter((e) => e.action === 'scrub')[1]!.detail?.faults, 0)
    assert.equal(r.health.sample().get(before.backend)!.corrupt, 1)
    await assertIntact(r, data)
    await engine.stop()
  })

  it('predictive: a corrupt read sends the backend’s other stripes to the head of the scrub order', async () => {
    const { r } = await setup(4)
    const engine = new DurabilityEngine({ store: r.store, health: r.health, policy: 'predictive', clock: r.clock, scrubStripesPerPass: 100 })
    await engine.scrubSoon()
    await engine.idle()
    await engine.evaluate()
    const ref = (await r.manifest('obj2')).stripes[0]!.blocks[1]!
    await rot(r, ref)
    let onBackend = 0
    for (let i = 0; i < 4; i++) onBackend += (await r.manifest(`obj${i}`)).stripes.filter((s) => s.blocks.some((b) => b?.backend === ref.backend)).length
    await engine.onFault({ objectId: 'obj2', stripe: 0, block: 1, backend: ref.backend, kind: 'corrupt' })
    await engine.idle()
    const status = engine.status()
    assert.equal(status.totals.suspect?.done, 1)
    assert.ok((status.totals.regenerate?.done ?? 0) >= 1)
    const suspect = status.recent.find((e) => e.action === 'suspect')!
    assert.equal(suspect.backend, ref.backend)
    assert.equal(suspect.detail?.stripes, onBackend) // every stripe with a block there, sent to the head of the scrub order
    await assertIntact(r, new Map([['obj2', bytes(3 * 4 * BLOCK - 100, 3)]]))
    await engine.stop()
  })

  it('predictive: places no new block on a backend its probe found almost full', async () => {
    const full = new Set<string>()
    const r = await rig({ almostFull: full })
    rigs.push(r)
    const data = bytes(4 * BLOCK, 9)
    await r.put('obj0', data)
    const stripe = (await r.manifest('obj0')).stripes[0]!
    const inStripe = new Set(stripe.blocks.map((b) => b!.backend))
    const [fullOne, freeOne] = r.faulty.map((b) => b.id).filter((id) => !inStripe.has(id)) // 8 backends, 6 in the stripe
    full.add(fullOne!)
    const engine = new DurabilityEngine({ store: r.store, health: r.health, policy: 'predictive', clock: r.clock })
    // Kill the backend of block 0 (so its own backend is no target either) and let health see it and the capacities.
    const victim = stripe.blocks[0]!.backend
    r.health.sample()
    r.faulty[Number(victim.slice(1))]!.setFaults({ gone: true })
    await r.health.probeAll()
    r.health.sample()
    await engine.evaluate()
    await engine.idle()
    const now = (await r.manifest('obj0')).stripes[0]!.blocks[0]!
    assert.notEqual(now.backend, victim)
    assert.equal(now.backend, freeOne) // not fullOne, which comes first by risk and load otherwise
    assert.equal(engine.status().backends.find((b) => b.backend === fullOne)!.capacity?.freeBytes, 1_000_000)
    assert.ok((await r.readAll('obj0')).equals(data))
    await engine.stop()
  })

  it('predictive: blocks move off a backend that fills up, onto backends with room, and every object still reads', async () => {
    const full = new Set<string>()
    const r = await rig({ almostFull: full })
    rigs.push(r)
    const data = new Map<string, Buffer>()
    for (let i = 0; i < 4; i++) {
      data.set(`obj${i}`, bytes(4 * BLOCK, 20 + i))
      await r.put(`obj${i}`, data.get(`obj${i}`)!)
    }
    const engine = new DurabilityEngine({ store: r.store, health: r.health, policy: 'predictive', clock: r.clock })
    const events: DurabilityEvent[] = []
    engine.onEvent((e) => events.push(e))
    const crowded = 'b0'
    const before = (await Promise.all([...data.keys()].map((id) => r.manifest(id)))).reduce((n, m) => n + blocksOn(m, crowded), 0)
    assert.ok(before > 0)
    full.add(crowded)
    await r.health.probeAll()
    r.health.sample()
    await engine.evaluate()
    await engine.idle()
    const moved = events.filter((e) => e.action === 'migrate' && e.outcome === 'done')
    assert.equal(moved.length, before, 'its shortfall (≈ 9 MB) exceeds what it holds: every block moves')
    for (const e of moved) {
      assert.equal(e.reason, 'backend-filling')
      assert.equal(e.backend, crowded)
      assert.ok(!full.has(e.targets![0]!))
    }
    const after = (await Promise.all([...data.keys()].map((id) => r.manifest(id)))).reduce((n, m) => n + blocksOn(m, crowded), 0)
    assert.equal(after, 0)
    await assertIntact(r, data)
    await engine.stop()
  })

  it('rejects bad options and malformed faults with typed errors', async () => {
    const { r } = await setup(0)
    assert.throws(() => new DurabilityEngine({ store: r.store, health: r.health, policy: 'eager' as never }), { code: 'DURABILITY_ERR_INVALID_OPTION', message: /policy/ })
    assert.throws(() => new DurabilityEngine({ store: r.store, health: r.health, addParityThreshold: 0.01, dropParityThreshold: 0.02 }), { code: 'DURABILITY_ERR_INVALID_OPTION', message: /dropParityThreshold/ })
    assert.throws(() => new DurabilityEngine({ store: {} as never, health: r.health }), { code: 'DURABILITY_ERR_INVALID_OPTION', message: /store/ })
    const engine = new DurabilityEngine({ store: r.store, health: r.health, clock: r.clock })
    assert.throws(() => void engine.onFault({ objectId: 'x', stripe: -1, block: 0, backend: 'b0', kind: 'missing' }), { code: 'DURABILITY_ERR_INVALID_ARGUMENT', message: /stripe/ })
    assert.throws(() => void engine.onFault({ objectId: 'x', stripe: 0, block: 0, backend: 'b0', kind: 'gone' as never }), { code: 'DURABILITY_ERR_INVALID_ARGUMENT', message: /kind/ })
    await engine.stop()
    assert.throws(() => engine.start(), { code: 'DURABILITY_ERR_CLOSED' })
  })
})
