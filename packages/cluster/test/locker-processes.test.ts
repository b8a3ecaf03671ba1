// RedisLocker across real processes (test/fixtures/lock-holder.ts) on the real Redis: mutual
// exclusion, a SIGKILLed holder blocking at most one lease, a SIGSTOPped (stale) holder fenced out
// of the manifest, release on request, and an aborted waiter.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, test } from 'node:test'
import { RedisLocker, RedisManifestStore, type RedisConnection } from '../src/index.js'
import { Child } from './helpers/child.js'
import { REDIS_URL, dropKeys, openConnection, rawClient, redisSkip, uniquePrefix } from '../src/testing/redis-fixture.js'

const skip = await redisSkip()
const prefix = uniquePrefix('procs')
const locals: { connection: RedisConnection; locker: RedisLocker }[] = []
const never = new AbortController().signal

// Three gateway processes for the whole file, started together (each costs a second or more of
// CPU to start): `a` and `b` serve every test, `doomed` is the one SIGKILLed. Tests use ids of
// their own, and the lease length travels with each command.
let a: Child, b: Child, doomed: Child
const start = async (): Promise<Child> => {
  const child = Child.start('lock-holder', { REDIS_URL, PREFIX: prefix })
  await child.next('ready')
  return child
}
before(async () => {
  if (skip) return
  ;[a, b, doomed] = await Promise.all([start(), start(), start()])
})
after(async () => {
  await Promise.all([a, b, doomed].filter(Boolean).map((c) => c.stop()))
  await dropKeys(prefix)
})
afterEach(async () => {
  a?.kill('SIGCONT') // a test that failed while it was stopped must not stall the next
  await Promise.all(locals.splice(0).map(async ({ connection, locker }) => (await locker.close(), await connection.close())))
})

/** A locker in this process (another gateway). */
async function local(leaseMs: number): Promise<{ connection: RedisConnection; locker: RedisLocker }> {
  const connection = await openConnection(prefix)
  const locker = await RedisLocker.open({ connection, leaseMs })
  const g = { connection, locker }
  locals.push(g)
  return g
}

describe('RedisLocker across processes', { skip, timeout: 60_000 }, () => {
  test('mutual exclusion: two processes never hold one id at once', async () => {
    a.send({ cmd: 'exclusive', id: 'mutex', n: 100, leaseMs: 5000 })
    b.send({ cmd: 'exclusive', id: 'mutex', n: 100, leaseMs: 5000 })
    const [ra, rb] = await Promise.all([a.next('exclusive-done'), b.next('exclusive-done')])
    assert.equal(ra.overlaps, 0)
    assert.equal(rb.overlaps, 0)
    const raw = rawClient()
    try {
      assert.equal(await raw.get(`${prefix}:test:counter`), '200', 'no read-modify-write was lost')
    } finally {
      raw.disconnect()
    }
  })

  test('a holder killed with SIGKILL blocks the id at most one lease', async () => {
    doomed.send({ cmd: 'lock', id: 'crash', leaseMs: 500 })
    const { token } = await doomed.next('locked', 'crash')
    doomed.kill('SIGKILL')
    await doomed.exited
    const { connection, locker } = await local(500)
    const raw = rawClient()
    try {
      const pttl = await raw.pttl(connection.keys.lock('crash'))
      assert.ok(pttl > 0 && pttl <= 500, `the dead holder's lease has ${pttl} ms left, at most one lease`)
    } finally {
      raw.disconnect()
    }
    const lock = locker.newLock('crash')
    await lock.lock(AbortSignal.timeout(5000), () => undefined)
    assert.ok(lock.fence!.token > (token as number))
    await lock.unlock()
  })

  test('a stale holder is fenced: paused past its lease, it cannot commit over the new holder', async () => {
    a.send({ cmd: 'lock', id: 'fenced', leaseMs: 400 })
    const { token: tokenA } = await a.next('locked', 'fenced')
    a.send({ cmd: 'append', id: 'fenced', bytes: 1 })
    assert.equal((await a.next('appended', 'fenced')).version, 1, 'the holder commits while it holds the lock')
    a.kill('SIGSTOP') // a GC pause, a partition: it stops renewing but still believes it holds the lock
    const { connection, locker } = await local(400)
    const manifests = await RedisManifestStore.open({ connection, fencing: locker })
    const lock = locker.newLock('fenced')
    await lock.lock(AbortSignal.timeout(5000), () => undefined)
    assert.ok(lock.fence!.token > (tokenA as number))
    assert.equal(await manifests.appendStripes('fenced', [{ bytes: 2, blockBytes: 1, dataBlocks: 1, parityBlocks: 0, blocks: [null] }]), 2)
    a.kill('SIGCONT')
    a.send({ cmd: 'append', id: 'fenced', bytes: 3 })
    const refused = await a.next('append-failed', 'fenced')
    assert.equal(refused.code, 'STORAGE_ERR_CONFLICT')
    assert.equal(refused.cause, 'CLUSTER_ERR_FENCED')
    a.send({ cmd: 'assert-held', id: 'fenced' })
    assert.equal((await a.next('not-held', 'fenced')).code, 'CLUSTER_ERR_LOCK_LOST')
    await a.next('asked', 'fenced') // the stale holder was told to stop (its renewal, or the new holder's request)
    assert.deepEqual((await manifests.get('fenced'))?.stripes.map((s) => s.bytes), [1, 2])
    await lock.unlock()
  })

  test('release on request: a waiter here makes the holder there let go, long before its lease', async () => {
    a.send({ cmd: 'lock', id: 'handover', release: true, leaseMs: 30_000 })
    await a.next('locked', 'handover')
    const { locker } = await local(30_000)
    const lock = locker.newLock('handover')
    await lock.lock(AbortSignal.timeout(10_000), () => undefined) // only a release gets it in time
    await a.next('asked', 'handover')
    await a.next('released', 'handover')
    await lock.unlock()
  })

  test('an aborted waiter in another process gives up, leaves the holder be, and leaves nothing behind', async () => {
    const { locker } = await local(30_000)
    let asked = 0
    const held = locker.newLock('abort')
    await held.lock(never, () => void asked++)
    b.send({ cmd: 'lock', id: 'abort', timeoutMs: 300, leaseMs: 30_000 })
    const failed = await b.next('lock-failed', 'abort')
    assert.equal(failed.name, 'TimeoutError')
    assert.equal(asked, 1, 'the waiter asked the holder to release, once')
    await locker.assertHeld('abort')
    await held.unlock()
    b.send({ cmd: 'lock', id: 'abort', timeoutMs: 2000, leaseMs: 30_000 }) // the lease is 30 s: no leftover lease or waiter may delay this
    await b.next('locked', 'abort')
  })
})
