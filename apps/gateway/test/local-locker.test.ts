// LocalLocker's own promises: its `held` count, and no polling at all. The Locker behaviour it
// shares with RedisLocker (FIFO hand-over, one release request per holder, aborts, double unlocks)
// is the conformance suite in port-conformance.test.ts.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { LocalLocker } from '../src/local-locker.js'

const never = new AbortController().signal
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('LocalLocker', () => {
  test('held counts the ids locked, and returns to 0 whatever way the waiters ended', async () => {
    const locker = new LocalLocker()
    const a = locker.newLock('a')
    await a.lock(never, () => undefined)
    await locker.newLock('b').lock(never, () => undefined)
    assert.equal(locker.held, 2)
    const ac = new AbortController()
    const quitter = locker.newLock('a').lock(ac.signal, () => undefined)
    const waiter = locker.newLock('a')
    const got = waiter.lock(never, () => undefined)
    ac.abort(new Error('gave up'))
    await assert.rejects(quitter)
    await assert.rejects(locker.newLock('a').lock(AbortSignal.abort(), () => undefined))
    await locker.newLock('a').unlock()
    assert.equal(locker.held, 2)
    await a.unlock()
    await got
    assert.equal(locker.held, 2, 'handed over, still held')
    await waiter.unlock()
    await locker.newLock('b').unlock()
    assert.equal(locker.held, 1, 'a stray unlock frees nothing')
  })

  test('no polling: a waiter creates no timers or immediates and wakes only on unlock', async () => {
    const locker = new LocalLocker()
    const holder = locker.newLock('x')
    await holder.lock(never, () => undefined)
    const count = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length
    const before = count()
    const waiters = Array.from({ length: 100 }, () => locker.newLock('x'))
    const granted = waiters.map((w) => w.lock(never, () => undefined))
    await Promise.resolve()
    assert.equal(count(), before, 'waiting scheduled timers')
    // Still none after the loop has turned many times: nothing re-arms itself while waiting.
    for (let i = 0; i < 20; i++) await tick()
    assert.equal(count(), before, 'waiting re-armed timers')
    await holder.unlock()
    for (let i = 0; i < waiters.length; i++) {
      await granted[i]
      await waiters[i]!.unlock()
    }
    assert.equal(locker.held, 0)
  })
})
