import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import type { BlockRead, Manifest } from '@tessera/storage'
import { DurabilityEngine, planRebalance, type DurabilityEvent, type LoadReport } from '../src/index.js'
import { BLOCK, bytes, rig, type Rig } from './helpers/rig.js'

const rigs: Rig[] = []
after(async () => Promise.all(rigs.map((r) => r.close())))

/** Seconds of the load window the counted reads stand for. */
const WINDOW_S = 10

interface Setup {
  readonly r: Rig
  readonly data: Map<string, Buffer>
  /** Block reads started per `backend|objectId|stripe|block`, as the store reported them. */
  readonly counts: Map<string, number>
}

/** Eight backends, 4+2, eight objects of two stripes; every block read the store starts is counted. */
async function setup(): Promise<Setup> {
  const counts = new Map<string, number>()
  const onBlockRead = (b: BlockRead): void => {
    const key = `${b.backend}|${b.objectId}|${b.stripe}|${b.block}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const r = await rig({ store: { onBlockRead } })
  rigs.push(r)
  const data = new Map<string, Buffer>()
  for (let i = 0; i < 8; i++) {
    const d = bytes(2 * 4 * BLOCK, i + 11)
    await r.put(`obj${i}`, d)
    data.set(`obj${i}`, d)
  }
  return { r, data, counts }
}

/** Reads the one data block `i` of stripe `s` of `id` (a range inside it reads that block only), `times` times. */
async function readBlock(r: Rig, id: string, s: number, i: number, times: number): Promise<void> {
  const start = (s * 4 + i) * BLOCK
  for (let n = 0; n < times; n++) for await (const _ of await r.store.read(id, { start, end: start + 100 })) void _
}

/**
 * The read path's report of the counted reads: per backend reads/s × a predicted latency of 1 ms
 * (the same everywhere, so the scores are exact), and every counted block as hot.
 */
function loadOf(counts: ReadonlyMap<string, number>, backends: readonly string[]): LoadReport {
  const perBackend = new Map(backends.map((b) => [b, 0]))
  const hot = [...counts].map(([key, n]) => {
    const [backend, objectId, stripe, block] = key.split('|') as [string, string, string, string]
    perBackend.set(backend, (perBackend.get(backend) ?? 0) + n)
    return { backend, objectId, stripe: Number(stripe), block: Number(block), readsPerSecond: n / WINDOW_S }
  })
  return { backends: [...perBackend].map(([backend, n]) => ({ backend, busy: (n / WINDOW_S) * 0.001, predictedMs: 1 })), hot }
}

/** Every backend gets some load (two full reads of every object); backend `hot` much more: each data block of it read 6 more times, `hottest` 12. */
async function heat(s: Setup, hot: string): Promise<{ warm: { id: string; stripe: number; block: number }[]; hottest: { id: string; stripe: number; block: number } }> {
  const warm: { id: string; stripe: number; block: number }[] = []
  for (const id of s.data.keys()) {
    const m = await s.r.manifest(id)
    m.stripes.forEach((st, stripe) => {
      const block = st.blocks.findIndex((b, i) => i < 4 && b?.backend === hot)
      if (block >= 0) warm.push({ id, stripe, block })
    })
  }
  assert.ok(warm.length >= 5, `backend ${hot} holds ${warm.length} data blocks`)
  for (let pass = 0; pass < 2; pass++) for (const id of s.data.keys()) await s.r.readAll(id)
  for (const w of warm) await readBlock(s.r, w.id, w.stripe, w.block, 6)
  await readBlock(s.r, warm[2]!.id, warm[2]!.stripe, warm[2]!.block, 6)
  return { warm, hottest: warm[2]! }
}

function blockAt(m: Manifest, stripe: number, block: number): { backend: string; key: string } {
  const ref = m.stripes[stripe]!.blocks[block]!
  return { backend: ref.backend, key: ref.key }
}

async function assertIntact(s: Setup): Promise<void> {
  for (const [id, d] of s.data) assert.ok((await s.r.readAll(id)).equals(d), `${id} reads back intact`)
}

describe('load-predictive rebalancing', () => {
  it('planRebalance: hottest first, off backends above the threshold only, to the least loaded eligible backend outside the stripe, within maxMoves', () => {
    const stripe = (backends: string[]) => ({ dataBlocks: 2, parityBlocks: 1, blockBytes: 64, bytes: 128, blocks: backends.map((backend, i) => ({ backend, key: `k${i}`, checksum: 'c' })) })
    const manifests = new Map<string, Manifest>([
      ['a', { version: 1, deleted: false, sources: [], referrers: [], stripes: [stripe(['h', 'x', 'y']), stripe(['x', 'h', 'z'])] }],
      ['b', { version: 1, deleted: false, sources: [], referrers: [], stripes: [stripe(['y', 'z', 'h'])] }],
    ])
    const load: LoadReport = {
      backends: [
        { backend: 'h', busy: 9, predictedMs: 1000 },
        { backend: 'x', busy: 1, predictedMs: 1000 },
        { backend: 'y', busy: 0, predictedMs: 1000 },
        { backend: 'z', busy: 2, predictedMs: 1000 },
        { backend: 'w', busy: 0.5, predictedMs: 1000 },
      ],
      hot: [
        { objectId: 'a', stripe: 0, block: 0, backend: 'h', readsPerSecond: 1 },
        { objectId: 'a', stripe: 1, block: 1, backend: 'h', readsPerSecond: 2 },
        { objectId: 'b', stripe: 0, block: 2, backend: 'h', readsPerSecond: 0.5 },
        { objectId: 'a', stripe: 0, block: 1, backend: 'x', readsPerSecond: 1 }, // x is below the threshold
        { objectId: 'b', stripe: 0, block: 0, backend: 'z', readsPerSecond: 3 }, // the manifest has y there: stale
      ],
    }
    const base = { load, manifests, ineligible: new Set<string>(), cooling: new Set<string>(), receiving: new Set<string>(), threshold: 1, maxMoves: 10 }
    // Mean busy 2.5: h is at 2.6 (> 1), the others at or below 0; a target may reach 0.5 (busy 3.75).
    const tasks = planRebalance(base)
    assert.deepEqual(tasks.map((t) => [t.payload.objectId, t.payload.stripe, t.payload.block, t.payload.targets]), [
      ['a', 1, 1, ['y', 'w']], // the hottest; y (0 + 2) least loaded outside {x, h, z}
      ['a', 0, 0, ['w', 'z']], // y and x hold the stripe: w (0.5 + 1), then z (2 + 1)
      ['b', 0, 2, ['x', 'w']], // y and z hold the stripe; x (1 + 0.5), w (1.5 + 0.5)
    ])
    assert.ok(tasks.every((t) => t.kind === 'rebalance' && t.reason === 'load-imbalance' && t.bytes === 3 * 64 && t.priority > 0.5 && t.priority < 1))
    assert.ok(tasks[0]!.priority > tasks[1]!.priority && tasks[1]!.priority > tasks[2]!.priority, 'hotter first in the queue too')
    assert.equal(planRebalance({ ...base, maxMoves: 1 }).length, 1)
    const avoiding = planRebalance({ ...base, ineligible: new Set(['y', 'w']) })
    assert.deepEqual(avoiding.map((t) => [t.key, t.payload.targets]), [
      ['rebalance:a:0:0', ['z']], // a:1:1 has nowhere to go: x, h, z hold its stripe
      ['rebalance:b:0:2', ['x']],
    ])
    assert.deepEqual(planRebalance({ ...base, cooling: new Set(['a:1:1']) }).map((t) => t.key), ['rebalance:a:0:0', 'rebalance:b:0:2'])
    assert.deepEqual(planRebalance({ ...base, receiving: new Set(['h']) }), [], 'a backend a move was planned onto gives up nothing during its cooldown')
    // Hysteresis: a target takes a block only if it stays at or below half the threshold.
    const heavy = planRebalance({ ...base, load: { ...load, hot: [{ objectId: 'a', stripe: 1, block: 1, backend: 'h', readsPerSecond: 4 }] } })
    assert.deepEqual(heavy, [], 'a block whose reads would push every target past half the threshold stays')
    assert.deepEqual(planRebalance({ ...base, threshold: 3 }), [], 'nothing above the threshold')
  })

  it('a heavily read backend past the threshold gives up its hottest blocks to the least loaded backends: copy, verify, one manifest update each, old copy deleted', async () => {
    const s = await setup()
    const engine = new DurabilityEngine({ store: s.r.store, health: s.r.health, policy: 'reactive', clock: s.r.clock, rebalanceThreshold: 1, maxRebalanceMoves: 3 })
    const events: DurabilityEvent[] = []
    engine.onEvent((e) => events.push(e))
    const hot = (await s.r.manifest('obj0')).stripes[0]!.blocks[0]!.backend
    const { warm, hottest } = await heat(s, hot)
    const before = new Map<string, Manifest>()
    for (const id of s.data.keys()) before.set(id, await s.r.manifest(id))
    const load = loadOf(s.counts, s.r.faulty.map((b) => b.id))
    const report = await engine.rebalance(load)
    assert.ok(report.maxImbalance > 1, `imbalance ${report.maxImbalance}`)
    assert.equal(report.queued, 3)
    await engine.idle()

    const done = events.filter((e) => e.action === 'rebalance' && e.outcome === 'done')
    assert.equal(done.length, 3)
    const moved = done.map((e) => warm.find((w) => w.id === e.objectId && w.stripe === e.stripe && w.block === e.block)!)
    assert.ok(moved.includes(hottest), 'the hottest block moved')
    for (const w of moved) {
      const was = before.get(w.id)!
      const now = await s.r.manifest(w.id)
      const to = blockAt(now, w.stripe, w.block)
      assert.notEqual(to.backend, hot)
      assert.ok(!was.stripes[w.stripe]!.blocks.some((b) => b?.backend === to.backend), 'placement: one block of a stripe per backend')
      assert.equal(await s.r.fs[Number(hot.slice(1))]!.stat(blockAt(was, w.stripe, w.block).key), undefined, 'the old copy is deleted')
    }
    // The only change to the manifests: the moved blocks' refs (each a conditional manifest update).
    for (const [id, was] of before) {
      const now = await s.r.manifest(id)
      was.stripes.forEach((st, i) => st.blocks.forEach((b, j) => {
        const isMoved = moved.some((w) => w.id === id && w.stripe === i && w.block === j)
        assert.equal(JSON.stringify(now.stripes[i]!.blocks[j]) === JSON.stringify(b), !isMoved, `${id} ${i}.${j}`)
      }))
    }
    // Each to the least loaded backend outside its stripe, as projected when planned.
    const loads = new Map(load.backends.map((b) => [b.backend, b.busy]))
    for (const e of done) assert.ok(e.targets![0] !== hot && loads.get(e.targets![0]!)! < loads.get(hot)!)
    const status = engine.rebalanceStatus()
    assert.equal(status.done, 3)
    assert.equal(status.bytesMoved, 3 * BLOCK)
    assert.equal(engine.status().io.rebalance.bytesWritten > 0, true, 'its I/O is counted as rebalance work')
    await assertIntact(s)

    // Ping-pong: the same block reported hot on its new backend, now the overloaded one, stays there while it cools down.
    const at = blockAt(await s.r.manifest(hottest.id), hottest.stripe, hottest.block)
    const back: LoadReport = {
      backends: s.r.faulty.map((b) => ({ backend: b.id, busy: b.id === at.backend ? 0.01 : 0.0005, predictedMs: 1 })),
      hot: Array.from({ length: 1 }, () => ({ objectId: hottest.id, stripe: hottest.stripe, block: hottest.block, backend: at.backend, readsPerSecond: 0.5 })),
    }
    assert.equal((await engine.rebalance(back)).queued, 0, 'a block in its cooldown is not moved again')
    // Nor does its new backend give up another of its blocks meanwhile: a target is not the next source.
    const others: { objectId: string; stripe: number; block: number }[] = []
    for (const id of s.data.keys()) {
      ;(await s.r.manifest(id)).stripes.forEach((st, i) => st.blocks.forEach((b, j) => {
        if (b?.backend === at.backend && !(id === hottest.id && i === hottest.stripe && j === hottest.block)) others.push({ objectId: id, stripe: i, block: j })
      }))
    }
    assert.ok(others.length > 0, `${at.backend} holds other blocks`)
    const onTarget: LoadReport = { ...back, hot: others.map((o) => ({ ...o, backend: at.backend, readsPerSecond: 0.5 })) }
    assert.equal((await engine.rebalance(onTarget)).queued, 0, 'the backend a move went to gives up nothing while it cools')
    await s.r.clock.advance(600_001)
    assert.equal((await engine.rebalance(back)).queued, 1, 'after the cooldown it may move again')
    await engine.idle()
    await assertIntact(s)
    await engine.stop()
  })

  it('never moves onto a backend that is down, and not under policy none', async () => {
    const s = await setup()
    const hot = (await s.r.manifest('obj1')).stripes[0]!.blocks[0]!.backend
    await heat(s, hot)
    const load = loadOf(s.counts, s.r.faulty.map((b) => b.id))
    const none = new DurabilityEngine({ store: s.r.store, health: s.r.health, policy: 'none', clock: s.r.clock })
    assert.equal((await none.rebalance(load)).queued, 0)
    await none.stop()

    // Where the first move would go with every backend up: the lowest id outside the stripe (all idle ones tie).
    const dry = planRebalance({ load, manifests: new Map(await Promise.all([...s.data.keys()].map(async (id) => [id, await s.r.manifest(id)] as const))), ineligible: new Set(), cooling: new Set(), receiving: new Set(), threshold: 1, maxMoves: 8 })
    const first = (dry[0]!.payload.targets as string[])[0]!
    const engine = new DurabilityEngine({ store: s.r.store, health: s.r.health, policy: 'reactive', clock: s.r.clock, maxRebalanceMoves: 8 })
    s.r.health.sample()
    s.r.faulty[Number(first.slice(1))]!.setFaults({ gone: true })
    await s.r.health.probeAll()
    await s.r.clock.advance(60_000)
    s.r.health.sample()
    assert.equal(engine.risk.backendRisk(first).unavailable, true)
    const events: DurabilityEvent[] = []
    engine.onEvent((e) => events.push(e))
    assert.ok((await engine.rebalance(load)).queued > 0)
    await engine.idle()
    const done = events.filter((e) => e.action === 'rebalance' && e.outcome === 'done')
    assert.ok(done.length > 0)
    assert.ok(done.every((e) => e.targets![0] !== first), `no move onto the down backend ${first}`)
    assert.deepEqual(events.filter((e) => e.action === 'rebalance' && e.outcome !== 'done'), [], 'and none tried there')
    s.r.faulty[Number(first.slice(1))]!.setFaults({ gone: false })
    await assertIntact(s)
    await engine.stop()
  })
})
