import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FaultyBackend, ScrubLedger, isStorageError, regenerateBlocks, scrub, type Manifest, type ManifestStore, type StripeRecord } from '../src/index.js'
import { BLOCK, STRIPE, bytes, chunks, put, readAll, rig, sparesOf } from './store-rig.js'

const code = (c: string) => (err: unknown) => isStorageError(err) && err.code === c

test('a lost block is regenerated on a backend outside the stripe, verified against another k-subset, and the object reads without its old backend', async () => {
  const r = await rig()
  try {
    const data = bytes(3 * STRIPE + 100, 7)
    await put(r.store, 'obj', data)
    const before = (await r.manifests.get('obj'))!.stripes[0]!
    const lostBackend = before.blocks[1]!.backend
    r.faulty.find((b) => b.id === lostBackend)!.setFaults({ gone: true })

    const result = await regenerateBlocks(r.store, 'obj', 0, [1])
    const block = result.regenerated[0]!
    assert.equal(block.block, 1)
    assert.equal(block.verifiedBy, 'k-subset')
    assert.deepEqual(block.rejected, [])
    const others = before.blocks.filter((_, i) => i !== 1).map((b) => b!.backend)
    assert.ok(!others.includes(block.ref.backend) && block.ref.backend !== lostBackend, `placed on ${block.ref.backend}`)
    assert.equal(block.ref.checksum, before.blocks[1]!.checksum)
    // Blocks inside a segment are never deleted by repair (the segment's owner deletes it).
    assert.deepEqual(result.deleted, [])
    const after = (await r.manifests.get('obj'))!.stripes[0]!
    assert.deepEqual(after.blocks[1], block.ref)
    // Readable with the old backend still gone and one more block's backend gone too (full redundancy back).
    r.faulty.find((b) => b.id === before.blocks[0]!.backend)!.setFaults({ gone: true })
    assert.deepEqual(await readAll(r.store, 'obj'), data)
  } finally {
    await r.close()
  }
})

test('a regenerated block that reads back wrong on its target is regenerated on another backend', async () => {
  const r = await rig({ whole: true })
  try {
    const data = bytes(2 * STRIPE, 11)
    await put(r.store, 'obj', data)
    const stripe = (await r.manifests.get('obj'))!.stripes[1]!
    const spares = sparesOf(r, stripe)
    const [bad, good] = spares as [FaultyBackend, FaultyBackend]
    // The bad target stores what it is given but corrupts every read: the re-derivation read-back mismatches.
    bad.setFaults({ corruptRate: 1, ops: ['read'] })
    await r.fs.find((b) => b.id === stripe.blocks[4]!.backend)!.delete(stripe.blocks[4]!.key) // parity block 0 lost

    const result = await regenerateBlocks(r.store, 'obj', 1, [4], { targetBackends: [bad.id, good.id] })
    const block = result.regenerated[0]!
    assert.deepEqual(block.rejected, [{ backend: bad.id, reason: 'verify-mismatch' }])
    assert.equal(block.ref.backend, good.id)
    assert.equal(block.verifiedBy, 'k-subset')
    // The rejected copy was removed from the bad backend.
    const left: string[] = []
    for await (const key of bad.inner.list('obj/')) left.push(key)
    assert.deepEqual(left, [])
    bad.setFaults({ corruptRate: 0 })
    // Prove the new parity block is right: lose two data blocks and read.
    for (const i of [0, 1]) await r.fs.find((b) => b.id === stripe.blocks[i]!.backend)!.delete(stripe.blocks[i]!.key)
    assert.deepEqual(await readAll(r.store, 'obj'), data)
  } finally {
    await r.close()
  }
})

test('a manifest change between read and commit is a conflict: the repair re-reads and retries, keeping the other change', async () => {
  let race: (() => Promise<void>) | undefined
  const racing = (inner: ManifestStore): ManifestStore => ({
    get: (id) => inner.get(id),
    appendStripes: (id, stripes) => inner.appendStripes(id, stripes),
    delete: (id) => inner.delete(id),
    list: () => inner.list(),
    async update(id: string, expected: number, next: Omit<Manifest, 'version'>) {
      const run = race
      race = undefined
      if (run) await run() // another writer commits first: a real append through the same store
      return inner.update(id, expected, next)
    },
  })
  const r = await rig({ whole: true, manifests: racing })
  try {
    const first = bytes(STRIPE, 3)
    const more = bytes(STRIPE + 10, 4)
    await put(r.store, 'obj', first)
    const stripe = (await r.manifests.get('obj'))!.stripes[0]!
    await r.fs.find((b) => b.id === stripe.blocks[2]!.backend)!.delete(stripe.blocks[2]!.key)
    race = async () => void (await r.store.append('obj', chunks(more)))

    const result = await regenerateBlocks(r.store, 'obj', 0, [2])
    assert.equal(result.conflicts, 1)
    const manifest = (await r.manifests.get('obj'))!
    assert.equal(manifest.stripes.length, 3) // the append's two stripes survived the repair's commit
    assert.deepEqual(manifest.stripes[0]!.blocks[2], result.regenerated[0]!.ref)
    assert.deepEqual(await readAll(r.store, 'obj'), Buffer.concat([first, more]))

    // A repair whose basis changed (someone else already replaced the block) is refused, not applied twice.
    const current = manifest.stripes[0]!
    const stale: StripeRecord = current
    race = async () => {
      await regenerateBlocks(r.store, 'obj', 0, [3])
    }
    await assert.rejects(regenerateBlocks(r.store, 'obj', 0, [3]), code('STORAGE_ERR_CONFLICT'))
    assert.notDeepEqual((await r.manifests.get('obj'))!.stripes[0]!.blocks[3], stale.blocks[3])
    assert.deepEqual(await readAll(r.store, 'obj'), Buffer.concat([first, more]))
  } finally {
    await r.close()
  }
})

test('scrub verifies the stripes verified longest ago first, finds an injected corruption and repairs it', async () => {
  const r = await rig({ whole: true })
  try {
    const a = bytes(2 * STRIPE, 21)
    const b = bytes(STRIPE, 22)
    await put(r.store, 'a', a)
    await put(r.store, 'b', b)
    let clock = 1000
    const ledger = ScrubLedger.memory()
    // Pass 1 over 2 of the 3 stripes: all clean, recorded.
    const p1 = await scrub(r.store, { ledger, limit: 2, now: () => clock })
    assert.equal(p1.verified, 2)
    assert.deepEqual(p1.faults, [])
    const seen = ['a#0', 'a#1', 'b#0'].filter((k) => ledger.verifiedAt(k.split('#')[0]!, Number(k.split('#')[1])) === 1000)
    assert.equal(seen.length, 2)

    // Silent corruption on disk: one byte of a data block of the never-verified stripe.
    const [id, s] = ['a#0', 'a#1', 'b#0'].find((k) => !seen.includes(k))!.split('#') as [string, string]
    const stripe = (await r.manifests.get(id))!.stripes[Number(s)]!
    const ref = stripe.blocks[0]!
    const fsb = r.fs.find((x) => x.id === ref.backend)!
    const rotten = Buffer.from(await fsb.read(ref.key))
    rotten[100]! ^= 0x40
    await fsb.put(ref.key, rotten)

    clock = 2000
    const p2 = await scrub(r.store, { ledger, limit: 1, now: () => clock })
    assert.equal(p2.verified, 1) // the never-verified stripe comes first
    assert.deepEqual(p2.faults, [{ objectId: id, stripe: Number(s), block: 0, problem: 'corrupt' }])
    assert.equal(p2.repaired.length, 1)
    assert.deepEqual(p2.repaired[0]!.deleted, [ref]) // the corrupt whole block is gone
    assert.equal(ledger.verifiedAt(id, Number(s)), 2000)
    const fixed = (await r.manifests.get(id))!.stripes[Number(s)]!.blocks[0]!
    assert.equal(fixed.checksum, ref.checksum)
    assert.notEqual(fixed.key, ref.key)

    clock = 3000
    const p3 = await scrub(r.store, { ledger, limit: 10, now: () => clock })
    assert.equal(p3.verified, 3)
    assert.deepEqual(p3.faults, [])
    assert.deepEqual(await readAll(r.store, 'a'), a)
    assert.deepEqual(await readAll(r.store, 'b'), b)
  } finally {
    await r.close()
  }
})

test('more than m bad blocks: regeneration fails UNRECOVERABLE and scrub reports the stripe as failed', async () => {
  const r = await rig({ whole: true })
  try {
    await put(r.store, 'obj', bytes(BLOCK * 4, 5))
    const stripe = (await r.manifests.get('obj'))!.stripes[0]!
    for (const i of [0, 1, 2]) await r.fs.find((b) => b.id === stripe.blocks[i]!.backend)!.delete(stripe.blocks[i]!.key)
    await assert.rejects(regenerateBlocks(r.store, 'obj', 0, [0]), code('STORAGE_ERR_UNRECOVERABLE'))
    const report = await scrub(r.store, { ledger: ScrubLedger.memory() })
    assert.deepEqual(report.failed, [{ objectId: 'obj', stripe: 0, code: 'STORAGE_ERR_UNRECOVERABLE' }])
    assert.equal(report.faults.length, 3)
  } finally {
    await r.close()
  }
})
