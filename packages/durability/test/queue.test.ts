import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InProcessTaskQueue, ManualClock, type TaskDescriptor } from '../src/index.js'
import { describeTaskQueue } from '../src/testing/index.js'

function task(key: string, priority: number, bytes = 0): TaskDescriptor {
  return { kind: 'regenerate', key, priority, bytes, reason: 'test', payload: { objectId: key } }
}

// The port's behaviour, shared with BullTaskQueue (@tessera/cluster).
describeTaskQueue('InProcessTaskQueue', async ({ concurrency, bytesPerSecond, burstBytes }) => ({
  queue: new InProcessTaskQueue({ concurrency, bytesPerSecond, ...(burstBytes !== undefined && { burstBytes }), tasksPerInterval: Infinity }),
}))

describe('InProcessTaskQueue', () => {
  it('limits tasks per interval on the injected clock', async () => {
    const clock = new ManualClock(0)
    const queue = new InProcessTaskQueue({ clock, concurrency: 4, tasksPerInterval: 2, intervalMs: 1000, bytesPerSecond: Infinity })
    const ran: number[] = []
    queue.process(async () => void ran.push(clock.now()))
    for (let i = 0; i < 5; i++) await queue.add(task(`t${i}`, 0))
    await queue.onSettled()
    assert.equal(ran.length, 2) // the bucket's two tokens
    await clock.advance(499)
    await queue.onSettled()
    assert.equal(ran.length, 2)
    await clock.advance(1) // one token refills every 500 ms
    await queue.onSettled()
    assert.equal(ran.length, 3)
    await clock.advance(1000)
    await queue.onSettled()
    assert.deepEqual(ran, [0, 0, 500, 1000, 1500])
    assert.equal(queue.size, 0)
  })

  it('limits bytes per second, letting a task larger than the burst run into debt', async () => {
    const clock = new ManualClock(0)
    const queue = new InProcessTaskQueue({ clock, concurrency: 4, bytesPerSecond: 1000, burstBytes: 1000, tasksPerInterval: Infinity })
    const ran: [string, number][] = []
    queue.process(async (t) => void ran.push([t.key, clock.now()]))
    await queue.add(task('a', 0, 600))
    await queue.add(task('b', 0, 600))
    await queue.add(task('huge', 0, 3000))
    await queue.add(task('c', 0, 100))
    await clock.advance(10_000)
    await queue.onSettled()
    // a at 0 (1000 → 400); b when 600 again: +200 ms (→ 0); huge when full (1000): +1000 ms → −2000;
    // c when 100: +2100 ms.
    assert.deepEqual(ran, [['a', 0], ['b', 200], ['huge', 1200], ['c', 3300]])
  })

  it('lists what waits, in start order, with raised priorities', async () => {
    const queue = new InProcessTaskQueue({ concurrency: 1, bytesPerSecond: Infinity, tasksPerInterval: Infinity })
    queue.pause()
    queue.process(async () => {})
    await queue.add(task('a', 1))
    await queue.add(task('b', 2))
    await queue.add(task('a', 9))
    assert.deepEqual(queue.waiting().map((t) => [t.key, t.priority]), [['a', 9], ['b', 2]])
    await queue.close()
  })

  it('keeps descriptors as plain data (a copy, safe to serialise)', async () => {
    const queue = new InProcessTaskQueue()
    queue.pause()
    queue.process(async () => {})
    const t = task('k', 1)
    await queue.add(t)
    const [waiting] = queue.waiting()
    assert.deepEqual(JSON.parse(JSON.stringify(waiting)), t)
    await queue.close()
  })

  it('refuses invalid options, naming them', () => {
    assert.throws(() => new InProcessTaskQueue({ concurrency: 0 }), { code: 'DURABILITY_ERR_INVALID_OPTION', message: /concurrency/ })
  })
})
