import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { EchoCache, ObjectStore } from '../src/index.js'
import { BLOCK, STRIPE, bytes, collect, put, rig, type Rig } from './store-rig.js'

const rigs: Rig[] = []
after(async () => Promise.all(rigs.map((r) => r.close())))

async function setup(maxBytes: number, doorkeeperEntries?: number): Promise<Rig & { echoes: EchoCache }> {
  const echoes = new EchoCache({ maxBytes, ...(doorkeeperEntries !== undefined && { doorkeeperEntries }) })
  const r = await rig({ width: 6, store: { echoes } })
  rigs.push(r)
  return { ...r, echoes }
}

const backendOps = (r: Rig): number => r.faulty.reduce((n, b) => n + b.stats.ops, 0)

/** A client's read: through the echo cache. */
const readAll = async (store: ObjectStore, id: string, range: { start?: number; end?: number } = {}): Promise<Buffer> => collect(await store.read(id, { ...range, echoes: true }))

describe('echo cache', () => {
  test('a block read twice is then served from memory: no backend read, identical bytes, hits counted', async () => {
    const r = await setup(64 * BLOCK)
    const data = bytes(STRIPE * 2, 1)
    await put(r.store, 'hot', data)
    assert.ok((await readAll(r.store, 'hot')).equals(data)) // seen once: remembered only
    assert.equal(r.echoes.stats().blocks, 0)
    assert.ok((await readAll(r.store, 'hot')).equals(data)) // second read: cached
    assert.equal(r.echoes.stats().blocks, 8)
    const before = backendOps(r)
    assert.ok((await readAll(r.store, 'hot')).equals(data))
    assert.ok((await readAll(r.store, 'hot', { start: STRIPE + 5, end: STRIPE + BLOCK + 5 })).equals(data.subarray(STRIPE + 5, STRIPE + BLOCK + 5)))
    assert.equal(backendOps(r), before, 'served without touching a backend')
    const s = r.echoes.stats()
    assert.deepEqual([s.hits, s.misses], [8 + 2, 8 + 8])
    assert.equal(s.hitRate, 10 / 26)
  })

  test('an internal read (no `echoes: true`) neither uses nor fills the cache', async () => {
    const r = await setup(64 * BLOCK, 0)
    const data = bytes(STRIPE, 13)
    await put(r.store, 'i', data)
    for (let i = 0; i < 2; i++) assert.ok((await collect(await r.store.read('i'))).equals(data))
    assert.deepEqual([r.echoes.stats().blocks, r.echoes.stats().hits, r.echoes.stats().misses], [0, 0, 0])
  })

  test('the byte budget holds: least recently used blocks go first', async () => {
    const r = await setup(5 * BLOCK, 0)
    const data = bytes(STRIPE * 3, 2)
    await put(r.store, 'o', data)
    // Stripe by stripe (a whole read loads stripes ahead, finishing in any order).
    for (let s = 0; s < 3; s++) assert.ok((await readAll(r.store, 'o', { start: s * STRIPE, end: (s + 1) * STRIPE })).equals(data.subarray(s * STRIPE, (s + 1) * STRIPE)))
    const s = r.echoes.stats()
    assert.ok(s.bytes <= 5 * BLOCK && s.blocks === 5)
    assert.equal(s.evicted, 12 - 5)
    // The last stripe read is the one kept.
    const before = backendOps(r)
    assert.ok((await readAll(r.store, 'o', { start: 2 * STRIPE })).equals(data.subarray(2 * STRIPE)))
    assert.equal(backendOps(r), before)
  })

  test('one pass over a cold object does not flush the hot blocks', async () => {
    const r = await setup(8 * BLOCK)
    const hot = bytes(STRIPE, 3)
    const cold = bytes(STRIPE * 4, 4)
    await put(r.store, 'hot', hot)
    await put(r.store, 'cold', cold)
    await readAll(r.store, 'hot')
    await readAll(r.store, 'hot')
    assert.ok((await readAll(r.store, 'cold')).equals(cold))
    const before = backendOps(r)
    assert.ok((await readAll(r.store, 'hot')).equals(hot))
    assert.equal(backendOps(r), before)
  })

  test('delete drops the object’s blocks; a read of it then fails NOT_FOUND, never with old bytes', async () => {
    const r = await setup(64 * BLOCK, 0)
    const data = bytes(STRIPE * 2, 5)
    await put(r.store, 'd', data)
    await readAll(r.store, 'd')
    assert.equal(r.echoes.stats().bytes, 8 * BLOCK)
    await r.store.delete('d')
    assert.deepEqual([r.echoes.stats().bytes, r.echoes.stats().invalidated], [0, 8])
    await assert.rejects(r.store.read('d'), { code: 'STORAGE_ERR_NOT_FOUND' })
  })

  test('an object deleted and written again by another process reads its new bytes (entries name stored blocks, not objects)', async () => {
    const r = await setup(64 * BLOCK, 0)
    const other = await ObjectStore.open({ backends: r.faulty, manifests: r.manifests, dataBlocks: 4, parityBlocks: 2, blockBytes: BLOCK })
    const first = bytes(STRIPE, 6)
    const second = bytes(STRIPE, 7)
    await put(r.store, 'x', first)
    await readAll(r.store, 'x')
    await other.delete('x') // this cache is not told
    await put(other, 'x', second)
    assert.ok((await readAll(r.store, 'x')).equals(second))
  })

  test('prefetched blocks are cached at once; used ones and wasted ones are counted', async () => {
    const r = await setup(64 * BLOCK)
    const a = bytes(STRIPE * 2, 8)
    const b = bytes(STRIPE, 9)
    await put(r.store, 'a', a)
    await put(r.store, 'b', b)
    assert.equal(await r.store.prefetch('a', { stripes: 5 }), 2 * STRIPE)
    assert.equal(await r.store.prefetch('a'), 0, 'already there')
    await r.store.prefetch('b')
    const before = backendOps(r)
    assert.ok((await readAll(r.store, 'a')).equals(a))
    assert.equal(backendOps(r), before)
    await r.store.delete('b')
    const s = r.echoes.stats()
    assert.deepEqual([s.prefetched, s.prefetchUsed, s.prefetchWasted, s.prefetchPrecision], [12, 8, 4, 8 / 12])
    assert.equal(await r.store.prefetch('b'), 0, 'a deleted object is not prefetched')
  })

  test('invalid options are refused naming the option', () => {
    assert.throws(() => new EchoCache({ maxBytes: -1 }), (err: Error & { code?: string }) => err.code === 'STORAGE_ERR_INVALID_ARGUMENT' && /maxBytes/.test(err.message))
  })
})
