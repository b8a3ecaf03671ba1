// LocalLocker: FIFO handover, one release request per holder, aborts, and no polling.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { LocalLocker } from '../src/local-locker.js'

const never = new AbortController().signal
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('LocalLocker', () => {
  test('an uncontended lock is granted at once and freed by unlock', async () => {
    const locker = new LocalLocker()
    const lock = locker.newLock('a')
    await lock.lock(never, () => undefined)
    assert.equal(locker.held, 1)
    await lock.unlock()
    assert.equal(locker.held, 0)
  })

  test('different ids do not contend', async () => {
    const locker = new LocalLocker()
    let asked = 0
    await locker.newLock('a').lock(never, () => void asked++)
    await locker.newLock('b').lock(never, () => void asked++)
    assert.equal(locker.held, 2)
    await tick()
    assert.equal(asked, 0)
  })

  test('waiters are granted in FIFO order, one at a time', async () => {
    const locker = new LocalLocker()
    const holder = locker.newLock('x')
    await holder.lock(never, () => undefined)
    const order: number[] = []
    const locks = [1, 2, 3, 4].map(() => locker.newLock('x'))
    const granted = locks.map((l, i) => l.lock(never, () => undefined).then(() => order.push(i + 1)))
    await tick()
    assert.deepEqual(order, [])
    await holder.unlock()
    await tick()
    assert.deepEqual(order, [1])
    for (let i = 0; i < 3; i++) {
      await locks[i]!.unlock()
      await tick()
      assert.deepEqual(order, [1, 2, 3, 4].slice(0, i + 2))
    }
    await locks[3]!.unlock()
    await Promise.all(granted)
    assert.equal(locker.held, 0)
  })

  test('the holder is asked to release once, however many wait', async () => {
    const locker = new LocalLocker()
    let asked = 0
    const holder = locker.newLock('x')
    await holder.lock(never, () => void asked++)
    const waiters = [1, 2, 3].map(() => locker.newLock('x'))
    const granted = waiters.map((w) => w.lock(never, () => undefined))
    await tick()
    await tick()
    assert.equal(asked, 1)
    await holder.unlock()
    await granted[0]
    for (let i = 0; i < 3; i++) {
      await waiters[i]!.unlock()
      if (i < 2) await granted[i + 1]
    }
  })

  test('a new holder with others queued behind it is asked to release too; the last one is not', async () => {
    const locker = new LocalLocker()
    const asked: string[] = []
    const a = locker.newLock('x')
    await a.lock(never, () => void asked.push('a'))
    const b = locker.newLock('x')
    const c = locker.newLock('x')
    const gotB = b.lock(never, () => void asked.push('b'))
    const gotC = c.lock(never, () => void asked.push('c'))
    await tick()
    assert.deepEqual(asked, ['a'])
    await a.unlock()
    await gotB
    await tick()
    assert.deepEqual(asked, ['a', 'b'])
    await b.unlock()
    await gotC
    await tick()
    assert.deepEqual(asked, ['a', 'b'])
    await c.unlock()
    assert.equal(locker.held, 0)
  })

  test('aborting while waiting rejects with the reason and removes the waiter from the queue', async () => {
    const locker = new LocalLocker()
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
    assert.equal(locker.held, 0, 'the aborted waiter left nothing behind')
  })

  test('an already aborted signal rejects without queuing', async () => {
    const locker = new LocalLocker()
    const holder = locker.newLock('x')
    await holder.lock(never, () => undefined)
    await assert.rejects(locker.newLock('x').lock(AbortSignal.abort(new Error('no')), () => undefined))
    await holder.unlock()
    assert.equal(locker.held, 0)
  })

  test('a release request that throws does not break the lock', async () => {
    const locker = new LocalLocker()
    const holder = locker.newLock('x')
    await holder.lock(never, () => {
      throw new Error('boom')
    })
    const waiter = locker.newLock('x')
    const got = waiter.lock(never, () => undefined)
    await tick()
    await holder.unlock()
    await got
    await waiter.unlock()
    assert.equal(locker.held, 0)
  })

  test('unlock twice, or without holding, is harmless and frees nobody else’s lock', async () => {
    const locker = new LocalLocker()
    const holder = locker.newLock('x')
    await holder.lock(never, () => undefined)
    await locker.newLock('x').unlock()
    assert.equal(locker.held, 1)
    const waiter = locker.newLock('x')
    const got = waiter.lock(never, () => undefined)
    await holder.unlock()
    await holder.unlock()
    await got
    assert.equal(locker.held, 1, 'the waiter still holds it')
    await waiter.unlock()
    assert.equal(locker.held, 0)
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
