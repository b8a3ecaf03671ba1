import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BlockMigration, migrateBlock } from '../src/index.js'
import { STRIPE, bytes, put, readAll, rig, sparesOf } from './store-rig.js'

// A crash is simulated by stopping after a step and opening a fresh store over the same directories
// (a real kill -9 of a child process mid-migration is the gateway integration's test, next).
const STEPS = ['plan', 'copy', 'verify', 'commit', 'cleanup'] as const

for (const [n, stopAfter] of STEPS.entries()) {
  test(`a migration stopped after ${stopAfter} leaves the object readable, and a re-run completes it`, async () => {
    const r = await rig({ whole: true })
    try {
      const data = bytes(2 * STRIPE + 7, 31 + n)
      await put(r.store, 'obj', data)
      const stripe = (await r.manifests.get('obj'))!.stripes[0]!
      const target = sparesOf(r, stripe)[0]!.id
      const from = stripe.blocks[2]!
      const m = await BlockMigration.plan(r.store, 'obj', 0, 2, target)
      const steps = [() => m.copy(), () => m.verify(), () => m.commit(), () => m.cleanup()]
      for (const step of steps.slice(0, n)) await step()

      const restarted = await r.reopen()
      assert.deepEqual(await readAll(restarted, 'obj'), data)
      const now = (await restarted.options.manifests.get('obj'))!.stripes[0]!.blocks[2]!
      assert.equal(now.backend, n >= 3 ? target : from.backend) // the manifest moves only at commit

      if (n < 3) {
        // Recovery: run the whole migration again on the restarted store.
        const result = await migrateBlock(restarted, 'obj', 0, 2, target)
        assert.equal(result.via, 'copy')
        assert.equal(result.to.backend, target)
        assert.equal(result.deletedOld, true)
      }
      const old = await r.fs.find((b) => b.id === from.backend)!.stat(from.key)
      // Deleted, unless we stopped right after commit (then it is an unreferenced leftover, swept with the object).
      if (n === 3) assert.notEqual(old, undefined)
      else assert.equal(old, undefined)
      // Still readable with the old backend gone entirely.
      r.faulty.find((b) => b.id === from.backend)!.setFaults({ gone: true })
      assert.deepEqual(await readAll(await r.reopen(), 'obj'), data)
    } finally {
      await r.close()
    }
  })
}

test('migrating a block that no longer reads intact regenerates it onto the target instead', async () => {
  const r = await rig()
  try {
    const data = bytes(STRIPE, 41)
    await put(r.store, 'obj', data)
    const stripe = (await r.manifests.get('obj'))!.stripes[0]!
    const target = sparesOf(r, stripe)[0]!.id
    r.faulty.find((b) => b.id === stripe.blocks[0]!.backend)!.setFaults({ corruptRate: 1, ops: ['read'] })
    const result = await migrateBlock(r.store, 'obj', 0, 0, target)
    assert.equal(result.via, 'regenerate')
    assert.equal(result.to.backend, target)
    assert.equal(result.deletedOld, false) // a segment range: left for the segment's owner
    assert.deepEqual(await readAll(r.store, 'obj'), data)
  } finally {
    await r.close()
  }
})

test('with drainReadsMs, a move deletes the old block only once the reads that loaded the old manifest have ended; they read it, not around it', async () => {
  const r = await rig({ whole: true, store: { readAheadStripes: 1 } })
  try {
    const data = bytes(3 * STRIPE, 57)
    await put(r.store, 'obj', data)
    const stripe = (await r.manifests.get('obj'))!.stripes[2]!
    const target = sparesOf(r, stripe)[0]!.id
    const from = stripe.blocks[1]!
    const faults: unknown[] = []
    // A read that loaded the manifest before the move and is paused after its first chunk (stripe 0):
    // stripe 2 is still to be read from the old manifest (read-ahead 1 keeps it from starting).
    const reader = await r.store.read('obj', { onFault: (f) => faults.push(f) })
    const first = await reader.next()
    assert.equal(first.done, false)
    let moved = false
    const move = migrateBlock(r.store, 'obj', 2, 1, target, { drainReadsMs: 10_000 }).then((res) => {
      moved = true
      return res
    })
    // The copy is committed but the old block must wait: poll until the manifest names the target.
    for (let i = 0; i < 200 && (await r.manifests.get('obj'))!.stripes[2]!.blocks[1]!.backend !== target; i++) await new Promise((res) => setTimeout(res, 5))
    assert.equal((await r.manifests.get('obj'))!.stripes[2]!.blocks[1]!.backend, target)
    await new Promise((res) => setTimeout(res, 50))
    assert.equal(moved, false, 'the move waits for the running read')
    assert.notEqual(await r.fs.find((b) => b.id === from.backend)!.stat(from.key), undefined)
    const rest: Uint8Array[] = [first.value as Uint8Array]
    for (let c = await reader.next(); !c.done; c = await reader.next()) rest.push(c.value)
    assert.deepEqual(Buffer.concat(rest), data)
    const result = await move
    assert.equal(result.readsDrained, true)
    assert.equal(result.deletedOld, true)
    assert.deepEqual(faults, [], 'the old read found every block where its manifest said')
    assert.equal(await r.fs.find((b) => b.id === from.backend)!.stat(from.key), undefined)
    assert.deepEqual(await readAll(r.store, 'obj'), data)
  } finally {
    await r.close()
  }
})

test('drainReadsMs is a bound: a read left open past it does not keep the old block', async () => {
  const r = await rig({ whole: true })
  try {
    const data = bytes(2 * STRIPE, 58)
    await put(r.store, 'obj', data)
    const stripe = (await r.manifests.get('obj'))!.stripes[0]!
    const target = sparesOf(r, stripe)[0]!.id
    const reader = await r.store.read('obj')
    await reader.next()
    const result = await migrateBlock(r.store, 'obj', 0, 3, target, { drainReadsMs: 30 })
    assert.equal(result.readsDrained, false)
    assert.equal(result.deletedOld, true)
    await reader.return(undefined)
    // A stream never iterated read nothing, and is not waited for.
    const idle = await r.store.read('obj')
    const again = await migrateBlock(r.store, 'obj', 0, 3, stripe.blocks[3]!.backend, { drainReadsMs: 60_000 })
    assert.equal(again.readsDrained, true)
    await idle.return(undefined)
    assert.deepEqual(await readAll(r.store, 'obj'), data)
  } finally {
    await r.close()
  }
})
