import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Lock } from '@tus/utils'
import type { InspectableLocker } from '../inspectable-locker.js'

/** What a factory hands {@link describeLocker}: a fresh locker and how to dispose of it. */
export interface LockerFixture {
  readonly locker: InspectableLocker
  readonly teardown?: () => Promise<void>
}

/** Options of the conformance suites of this module. */
export interface SuiteOptions {
  /** Skips the whole suite with this reason (a Redis that is not there), as `node:test` shows it. */
  readonly skip?: string | false
}

const never = new AbortController().signal
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))
/** A few turns of the event loop: enough for a release request scheduled on a microtask or immediate. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await tick()
}

/** Counts release requests and resolves `first` on the first one. */
function releaseRequests(): { readonly request: () => void; readonly count: () => number; readonly first: Promise<void> } {
  let n = 0
  let resolve!: () => void
  const first = new Promise<void>((r) => (resolve = r))
  return {
    request: () => {
      n++
      resolve()
    },
    count: () => n,
    first,
  }
}

/**
 * Tries `lock` for `ms`: true when granted (the caller unlocks), false when it gave up. A short
 * `ms` is a window for "not granted" (a wrong grant is caught, not proven absent); a generous one
 * checks "granted without waiting for anyone", shorter than any lease a test locker uses.
 */
async function grantedWithin(lock: Lock, ms: number, requestRelease: () => void = () => undefined): Promise<boolean> {
  try {
    await lock.lock(AbortSignal.timeout(ms), requestRelease)
    return true
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') return false
    throw err
  }
}

/**
 * The conformance suite of @tus/utils' `Locker` port as Tessera relies on it (`node:test`), run by
 * the gateway's `LocalLocker` and by `RedisLocker`, within one process: mutual exclusion per id, FIFO
 * handover, one release request per holder (the next holder asked too when others queue behind),
 * aborted waiters leaving nothing behind, harmless double unlocks. Cross-process behaviour (leases,
 * fencing) is the Redis implementation's own tests. `factory` returns a fresh locker per test.
 */
export function describeLocker(name: string, factory: () => Promise<LockerFixture>, options: SuiteOptions = {}): void {
  const run = async (fn: (locker: InspectableLocker) => Promise<void>): Promise<void> => {
    // AbortSignal.timeout's timer does not keep a process alive; a purely in-memory locker waiting
    // on one would let node:test cancel the test.
    const keepAlive = setInterval(() => {}, 1000)
    const fixture = await factory()
    try {
      await fn(fixture.locker)
    } finally {
      await fixture.teardown?.()
      clearInterval(keepAlive)
    }
  }

  describe(`Locker conformance: ${name}`, { skip: options.skip ?? false }, () => {
    test('an uncontended lock is granted, and after unlock the next is granted without asking anyone', () =>
      run(async (locker) => {
        const asked = releaseRequests()
        const lock = locker.newLock('a')
        await lock.lock(never, asked.request)
        await lock.unlock()
        const again = locker.newLock('a')
        await again.lock(never, asked.request)
        await settle()
        assert.equal(asked.count(), 0)
        await again.unlock()
      }))

    test('isLocked: true from grant to unlock, for that id only', () =>
      run(async (locker) => {
        const lock = locker.newLock('inspected')
        assert.equal(await locker.isLocked('inspected'), false)
        await lock.lock(never, () => undefined)
        assert.equal(await locker.isLocked('inspected'), true)
        assert.equal(await locker.isLocked('other'), false)
        await lock.unlock()
        assert.equal(await locker.isLocked('inspected'), false)
      }))

    test('different ids do not contend', () =>
      run(async (locker) => {
        const asked = releaseRequests()
        const a = locker.newLock('a')
        const b = locker.newLock('b')
        await a.lock(never, asked.request)
        await b.lock(never, asked.request)
        await settle()
        assert.equal(asked.count(), 0)
        await a.unlock()
        await b.unlock()
      }))

    test('a holder that releases when asked hands the lock over (what a resumed PATCH relies on)', () =>
      run(async (locker) => {
        const holder = locker.newLock('x')
        await holder.lock(never, () => void holder.unlock())
        const next = locker.newLock('x')
        await next.lock(AbortSignal.timeout(10_000), () => undefined)
        await next.unlock()
      }))

    test('waiters are granted in FIFO order, one at a time', () =>
      run(async (locker) => {
        const asked = releaseRequests()
        const holder = locker.newLock('x')
        await holder.lock(never, asked.request)
        const order: number[] = []
        const locks = [1, 2, 3, 4].map(() => locker.newLock('x'))
        const granted = locks.map((l, i) => l.lock(never, () => undefined).then(() => void order.push(i + 1)))
        await asked.first
        await settle()
        assert.deepEqual(order, [])
        await holder.unlock()
        await granted[0]
        assert.deepEqual(order, [1])
        for (let i = 0; i < 3; i++) {
          await locks[i]!.unlock()
          await granted[i + 1]
          assert.deepEqual(order, [1, 2, 3, 4].slice(0, i + 2))
        }
        await locks[3]!.unlock()
      }))

    test('the holder is asked to release once, however many wait', () =>
      run(async (locker) => {
        const asked = releaseRequests()
        const holder = locker.newLock('x')
        await holder.lock(never, asked.request)
        const waiters = [1, 2, 3].map(() => locker.newLock('x'))
        const granted = waiters.map((w) => w.lock(never, () => undefined))
        await asked.first
        await settle()
        assert.equal(asked.count(), 1)
        await holder.unlock()
        for (let i = 0; i < 3; i++) {
          await granted[i]
          await waiters[i]!.unlock()
        }
        assert.equal(asked.count(), 1)
      }))

    test('a new holder with others queued behind it is asked to release too; the last one is not', () =>
      run(async (locker) => {
        const asked: string[] = []
        const a = locker.newLock('x')
        await a.lock(never, () => void asked.push('a'))
        const b = locker.newLock('x')
        const c = locker.newLock('x')
        const gotB = b.lock(never, () => void asked.push('b'))
        const gotC = c.lock(never, () => void asked.push('c'))
        await settle()
        assert.deepEqual(asked, ['a'])
        await a.unlock()
        await gotB
        await settle()
        assert.deepEqual(asked, ['a', 'b'])
        await b.unlock()
        await gotC
        await settle()
        assert.deepEqual(asked, ['a', 'b'])
        await c.unlock()
      }))

    test('aborting while waiting rejects with the reason and leaves the queue as if it never waited', () =>
      run(async (locker) => {
        const holder = locker.newLock('x')
        await holder.lock(never, () => undefined)
        const ac = new AbortController()
        const quitter = locker.newLock('x').lock(ac.signal, () => undefined)
        const stayer = locker.newLock('x')
        let stayerGranted = false
        const gotStayer = stayer.lock(never, () => undefined).then(() => (stayerGranted = true))
        const reason = new Error('gave up')
        ac.abort(reason)
        await assert.rejects(quitter, (err) => err === reason)
        await holder.unlock()
        await gotStayer
        assert.ok(stayerGranted, 'the lock went to the next live waiter, not the aborted one')
        await stayer.unlock()
        const fresh = locker.newLock('x')
        assert.equal(await grantedWithin(fresh, 1000), true, 'the aborted waiter left nothing behind')
        await fresh.unlock()
      }))

    test('the only waiter aborting leaves the lock to its holder, and free after unlock', () =>
      run(async (locker) => {
        const asked = releaseRequests()
        const holder = locker.newLock('x')
        await holder.lock(never, asked.request)
        await assert.rejects(locker.newLock('x').lock(AbortSignal.timeout(50), () => undefined), { name: 'TimeoutError' })
        assert.equal(asked.count(), 1, 'the waiter asked before it gave up')
        await holder.unlock()
        const fresh = locker.newLock('x')
        assert.equal(await grantedWithin(fresh, 1000), true)
        await fresh.unlock()
      }))

    test('an already aborted signal rejects without queuing or asking', () =>
      run(async (locker) => {
        const asked = releaseRequests()
        const holder = locker.newLock('x')
        await holder.lock(never, asked.request)
        const reason = new Error('no')
        await assert.rejects(locker.newLock('x').lock(AbortSignal.abort(reason), () => undefined), (err) => err === reason)
        await settle()
        assert.equal(asked.count(), 0)
        await holder.unlock()
        const fresh = locker.newLock('x')
        assert.equal(await grantedWithin(fresh, 1000), true)
        await fresh.unlock()
      }))

    test('a release request that throws does not break the lock', () =>
      run(async (locker) => {
        const holder = locker.newLock('x')
        await holder.lock(never, () => {
          throw new Error('boom')
        })
        const waiter = locker.newLock('x')
        const got = waiter.lock(never, async () => Promise.reject(new Error('async boom')))
        await settle()
        await holder.unlock()
        await got
        await waiter.unlock()
      }))

    test('unlock twice, or without holding, is harmless and frees nobody else’s lock', () =>
      run(async (locker) => {
        const holder = locker.newLock('x')
        await holder.lock(never, () => undefined)
        await locker.newLock('x').unlock()
        assert.equal(await grantedWithin(locker.newLock('x'), 100), false, 'a stray unlock freed the holder’s lock')
        const waiter = locker.newLock('x')
        const got = waiter.lock(never, () => undefined)
        await holder.unlock()
        await holder.unlock()
        await got
        assert.equal(await grantedWithin(locker.newLock('x'), 100), false, 'the second unlock freed the waiter’s lock')
        await waiter.unlock()
      }))
  })
}
