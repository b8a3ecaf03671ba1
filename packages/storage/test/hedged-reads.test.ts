import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import type { BlockFault, ObjectStoreOptions } from '../src/index.js'
import { BLOCK, STRIPE, bytes, collect, put, readAll, rig, type Rig } from './store-rig.js'

const rigs: Rig[] = []
after(async () => Promise.all(rigs.map((r) => r.close())))

async function setup(store: Partial<ObjectStoreOptions>): Promise<Rig> {
  const r = await rig({ width: 6, store })
  rigs.push(r)
  return r
}

/** Index (in `r.faulty`) of the backend holding data block `block` of stripe `stripe` of `id`. */
async function holder(r: Rig, id: string, stripe: number, block: number): Promise<number> {
  const ref = (await r.manifests.get(id))!.stripes[stripe]!.blocks[block]!
  return r.faulty.findIndex((b) => b.id === ref.backend)
}

describe('hedged reads', () => {
  test('a backend that stalls forever costs two hedge delays, not a block deadline per stripe: the read is identical', async () => {
    // A block deadline of a minute: a read that waited for it would take minutes over 12 stripes.
    const r = await setup({ blockTimeoutMs: 60_000, hedge: { initialMs: 50 } })
    const data = bytes(STRIPE * 12 + 999, 21)
    await put(r.store, 'o', data)
    const stalled = r.faulty[await holder(r, 'o', 0, 0)]!
    stalled.setFaults({ stallRate: 1, ops: ['read'] })
    const began = performance.now()
    assert.ok((await readAll(r.store, 'o')).equals(data))
    assert.ok(performance.now() - began < 30_000, 'finished long before a single block deadline')
    const stats = r.store.readStats()
    // Late twice in a row marks a backend slow: later stripes read around it without waiting. The
    // stripes read ahead (3) started before anything was learned, and two more may start meanwhile.
    assert.ok(stalled.stats.stalls <= r.store.options.readAheadStripes + 2, `${stalled.stats.stalls} reads went to the stalled backend`)
    // Healthy reads may be late too on a busy machine (50 ms while a backend is unknown): within the budget.
    assert.ok(stats.hedges >= 1 && stats.hedges <= 8 + 0.1 * stats.blocksNeeded, `${stats.hedges} hedges`)
    assert.ok(stats.cancelled >= 1, 'the stalled read was cancelled once k blocks were verified')
    assert.equal(stats.stripes, 13)
    assert.equal(stats.blocksRead, stats.blocksNeeded + stats.hedges + stats.replacements)
    const learned = stats.backends.find((b) => b.backend === stalled.id)!
    assert.ok(learned.predictedMs > 25, `the stalled backend is predicted slow (${learned.predictedMs} ms; its penalty halves in 10 s)`)
  })

  test('a range inside one stripe whose data block stalls is rebuilt from the others', async () => {
    const r = await setup({ blockTimeoutMs: 60_000, hedge: { initialMs: 20 } })
    const data = bytes(STRIPE * 2, 5)
    await put(r.store, 'p', data)
    r.faulty[await holder(r, 'p', 1, 2)]!.setFaults({ stallRate: 1, ops: ['read'] })
    const [start, end] = [STRIPE + 2 * BLOCK + 10, STRIPE + 3 * BLOCK - 10]
    assert.ok((await collect(await r.store.read('p', { start, end }))).equals(data.subarray(start, end)))
    const stats = r.store.readStats()
    assert.deepEqual([stats.decoded, stats.blocksNeeded], [1, 1])
    assert.ok(stats.hedges >= 4, `one block needed, k more read to rebuild it (${stats.hedges} hedges)`)
  })

  test('corrupt bytes never reach the reader, also when the block that stands in is a hedge', async () => {
    const r = await setup({ blockTimeoutMs: 60_000, hedge: { initialMs: 20 } })
    const data = bytes(STRIPE * 6, 8)
    await put(r.store, 'c', data)
    const stall = await holder(r, 'c', 0, 0)
    r.faulty[stall]!.setFaults({ stallRate: 1, ops: ['read'] })
    const corrupt = r.faulty.filter((_, i) => i !== stall)[0]!
    corrupt.setFaults({ corruptRate: 1 })
    const faults: BlockFault[] = []
    assert.ok((await collect(await r.store.read('c', { onFault: (f) => faults.push(f) }))).equals(data))
    assert.ok(faults.length > 0 && faults.every((f) => f.kind === 'corrupt' && f.backend === corrupt.id))
    assert.ok(corrupt.stats.corruptions > 0)
  })

  test('the budget bounds hedges to burst + maxExtraRatio × blocks needed, and the counters add up', async () => {
    const hedge = { floorMs: 1, initialMs: 2, maxExtraRatio: 0.1, burstBlocks: 3 }
    const r = await setup({ blockTimeoutMs: 60_000, hedge })
    const data = bytes(STRIPE * 30, 2)
    await put(r.store, 'b', data)
    for (const b of r.faulty) b.setFaults({ latencyMs: { min: 0, max: 30 }, ops: ['read'] })
    assert.ok((await readAll(r.store, 'b')).equals(data))
    const s = r.store.readStats()
    assert.equal(s.stripes, 30)
    assert.equal(s.blocksNeeded, 30 * 4)
    assert.ok(s.hedges > 0 && s.hedgesDenied > 0, `late blocks were hedged (${s.hedges}) until the budget ran out (${s.hedgesDenied} denied)`)
    assert.ok(s.hedges <= hedge.burstBlocks + hedge.maxExtraRatio * s.blocksNeeded, `${s.hedges} hedges within the budget`)
    assert.equal(s.blocksRead, s.blocksNeeded + s.hedges + s.replacements)
    assert.equal(s.extraReadRatio, (s.blocksRead - s.blocksNeeded) / s.blocksNeeded)
  })

  test('reads late together with every other read of their stripe are neither hedged nor held against their backend', async () => {
    // Every backend 40 ms slower at once, as when the gateway's machine stalls: each read runs past
    // the 10 ms hedge delay, but none is later than the others, so none is the backend's fault.
    const r = await setup({ blockTimeoutMs: 60_000, hedge: { floorMs: 10, initialMs: 10 } })
    const data = bytes(STRIPE * 4, 31)
    await put(r.store, 's', data)
    for (const b of r.faulty) b.setFaults({ latencyMs: 40, ops: ['read'] })
    assert.ok((await readAll(r.store, 's')).equals(data))
    const s = r.store.readStats()
    assert.deepEqual([s.hedges, s.hedgesDenied, s.decoded], [0, 0, 0])
    assert.equal(s.blocksRead, s.blocksNeeded)
    // A late read ends a healthy backend's late streak only by finishing in time; none was penalized to maxMs.
    assert.ok(s.backends.every((b) => b.predictedMs < 1000), JSON.stringify(s.backends))
    // One backend slower than the others is still hedged: its siblings end first.
    r.faulty[await holder(r, 's', 0, 0)]!.setFaults({ latencyMs: 400, ops: ['read'] })
    assert.ok((await readAll(r.store, 's')).equals(data))
    assert.ok(r.store.readStats().hedges >= 1)
  })

  test('out of budget, a stalled block is waited for until hedge.maxMs, then read around', async () => {
    const r = await setup({ blockTimeoutMs: 60_000, hedge: { initialMs: 20, maxMs: 200, burstBlocks: 1, maxExtraRatio: 0 } })
    const data = bytes(STRIPE * 3, 12)
    await put(r.store, 'm', data)
    // Two data blocks of the first stripe stall: one hedge is all the budget allows.
    for (const block of [0, 1]) r.faulty[await holder(r, 'm', 0, block)]!.setFaults({ stallRate: 1, ops: ['read'] })
    const began = performance.now()
    assert.ok((await readAll(r.store, 'm')).equals(data))
    assert.ok(performance.now() - began < 30_000, 'finished long before a block deadline')
    const s = r.store.readStats()
    assert.equal(s.hedges, 1)
    assert.ok(s.hedgesDenied >= 1 && s.replacements >= 1, `${s.hedgesDenied} denied, ${s.replacements} read around`)
  })

  test('without hedging a stalled block is waited for until the block deadline, then read around', async () => {
    const r = await setup({ blockTimeoutMs: 300, hedge: { enabled: false } })
    const data = bytes(STRIPE * 2, 3)
    await put(r.store, 'n', data)
    r.faulty[await holder(r, 'n', 0, 1)]!.setFaults({ stallRate: 1, ops: ['read'] })
    const faults: BlockFault[] = []
    assert.ok((await collect(await r.store.read('n', { onFault: (f) => faults.push(f) }))).equals(data))
    const s = r.store.readStats()
    assert.equal(s.hedging, false)
    assert.equal(s.hedges, 0)
    assert.ok(s.replacements >= 1 && faults.some((f) => f.code === 'STORAGE_ERR_TIMEOUT'))
  })

  test('a caller that aborts mid-read gets STORAGE_ERR_ABORTED, with the stalled read cancelled', async () => {
    const r = await setup({ blockTimeoutMs: 60_000, hedge: { initialMs: 60_000, maxMs: 60_000 } })
    const data = bytes(STRIPE, 4)
    await put(r.store, 'a', data)
    r.faulty[await holder(r, 'a', 0, 0)]!.setFaults({ stallRate: 1, ops: ['read'] })
    const stop = new AbortController()
    const reading = collect(await r.store.read('a', { signal: stop.signal }))
    setTimeout(() => stop.abort(), 50)
    await assert.rejects(reading, { code: 'STORAGE_ERR_ABORTED' })
    assert.ok(r.store.readStats().cancelled >= 1, 'the stalled read was cancelled')
  })

  test('invalid hedge options are refused naming the option', async () => {
    await assert.rejects(setup({ hedge: { quantile: 2 } }), (err: Error & { code?: string }) => err.code === 'STORAGE_ERR_INVALID_ARGUMENT' && /hedge\.quantile/.test(err.message))
    await assert.rejects(setup({ hedge: { floorMs: 50, maxMs: 10 } }), /hedge\.maxMs/)
  })
})
