import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ReedSolomon } from '@tessera/erasure'
import { addParity, dropParity, isStorageError } from '../src/index.js'
import { STRIPE, bytes, put, readAll, rig } from './store-rig.js'

const code = (c: string) => (err: unknown) => isStorageError(err) && err.code === c

test('parity is prefix-compatible: the first m parity blocks of k+m′ equal those of k+m (bytes, several geometries)', async () => {
  for (const [k, m, wide] of [[4, 2, 4], [4, 1, 6], [6, 3, 8], [10, 4, 10], [1, 1, 3], [17, 2, 9]] as const) {
    const narrow = await ReedSolomon.create({ dataBlocks: k, parityBlocks: m })
    const wider = await ReedSolomon.create({ dataBlocks: k, parityBlocks: wide })
    const data = Array.from({ length: k }, (_, i) => bytes(256, 100 + i))
    const p1 = Array.from({ length: m }, () => new Uint8Array(256))
    const p2 = Array.from({ length: wide }, () => new Uint8Array(256))
    narrow.encode(data, p1)
    wider.encode(data, p2)
    for (let i = 0; i < m; i++) assert.deepEqual(p2[i], p1[i], `${k}+${m} vs ${k}+${wide}, parity ${i}`)
  }
})

test('addParity grows an object to k+m′ (surviving m′ lost backends), dropParity shrinks it back and deletes the extra blocks', async () => {
  const r = await rig({ whole: true, width: 8 })
  try {
    const data = bytes(2 * STRIPE + 333, 51)
    await put(r.store, 'obj', data)
    const before = (await r.manifests.get('obj'))!
    const changes = await addParity(r.store, 'obj', { parityBlocks: 4 })
    assert.deepEqual(changes.map((c) => [c.stripe, c.from, c.to, c.added.length]), before.stripes.map((_, s) => [s, 2, 4, 2]))
    assert.ok(changes.every((c) => c.added.every((a) => a.verifiedBy === 'k-subset')))
    const grown = (await r.manifests.get('obj'))!
    for (const [s, stripe] of grown.stripes.entries()) {
      assert.equal(stripe.parityBlocks, 4)
      assert.equal(stripe.blocks.length, 8)
      assert.deepEqual(stripe.blocks.slice(0, 6), before.stripes[s]!.blocks) // nothing rewritten
      assert.equal(new Set(stripe.blocks.map((b) => b!.backend)).size, 8) // all on distinct backends
    }
    // Four backends gone: more than the original m = 2, within m′ = 4.
    for (const f of r.faulty.slice(0, 4)) f.setFaults({ gone: true })
    assert.deepEqual(await readAll(r.store, 'obj'), data)
    for (const f of r.faulty) f.setFaults({ gone: false })

    await assert.rejects(addParity(r.store, 'obj', { parityBlocks: 5 }), code('STORAGE_ERR_INVALID_ARGUMENT')) // cap: 8 backends − k
    await assert.rejects(dropParity(r.store, 'obj', { parityBlocks: 1 }), code('STORAGE_ERR_INVALID_ARGUMENT')) // floor: the store's m

    const dropped = await dropParity(r.store, 'obj', { parityBlocks: 2 })
    assert.deepEqual(dropped.map((c) => [c.stripe, c.from, c.to, c.deleted.length]), before.stripes.map((_, s) => [s, 4, 2, 2])) // every stripe, not vacuously none
    const shrunk = (await r.manifests.get('obj'))!
    assert.deepEqual(shrunk.stripes.map((s) => s.blocks), before.stripes.map((s) => s.blocks))
    for (const c of dropped) for (const ref of c.deleted) assert.equal(await r.fs.find((b) => b.id === ref.backend)!.stat(ref.key), undefined)
    assert.deepEqual(await readAll(r.store, 'obj'), data)
  } finally {
    await r.close()
  }
})
