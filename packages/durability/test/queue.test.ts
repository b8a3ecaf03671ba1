import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InProcessTaskQueue, ManualClock, type TaskDescriptor } from '../src/index.js'

function task(key: string, priority: number, bytes = 0): TaskDescriptor {
  return { kind: 'regenerate', key, priority, bytes, reason: 'test', payload: { objectId: key } }
}

describe('InProcessTaskQueue', () => {
  it('runs the highest priority first (ties in order added)', async () => {
    const queue = new InProcessTaskQueue({ concurrency: 1, bytesPerSecond: Infinity, tasksPerInterval: Infinity })
    const ran: string[] = []
    queue.pause()
    queue.process(async (t) => void ran.push(t.key))
    for (const [k, p] of [['low', 1], ['high', 3], ['mid', 2], ['mid2', 2]] as const) assert.equal(await queue.add(task(k, p)), true)
    assert.equal(queue.size, 4)
    queue.resume()
    await queue.onIdle()
    assert.deepEqual(ran, ['high', 'mid', 'mid2', 'low'])
  })

  it('dedupes by key while waiting or running, keeping the higher priority', async () => {
    const queue = new InProcessTaskQueue({ concurrency: 1, bytesPerSecond: Infinity, tasksPerInterval: Infinity })
    const ran: string[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    queue.process(async (t) => {
      ran.push(t.key)
      if (t.key === 'first') await gate
    })
    await queue.add(task('first', 0))
    assert.equal(queue.pending, 1)
    assert.equal(await queue.add(task('first', 5)), false) // running
    await queue.add(task('a', 1))
    await queue.add(task('b', 2))
    assert.equal(await queue.add(task('a', 9)), false) // waiting: priority raised to 9
    assert.deepEqual(queue.waiting().map((t) => [t.key, t.priority]), [['a', 9], ['b', 2]])
    release()
    await queue.onIdle()
    assert.deepEqual(ran, ['first', 'a', 'b'])
  })

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

  it('reports failures, and rejects malformed tasks and adds after close with typed errors', async () => {
    const queue = new InProcessTaskQueue({ bytesPerSecond: Infinity })
    const outcomes: [string, boolean, string | undefined][] = []
    queue.onOutcome((o) => outcomes.push([o.task.key, o.ok, (o.error as { code?: string } | undefined)?.code]))
    queue.process(async (t) => {
      if (t.key === 'bad') throw Object.assign(new Error('boom'), { code: 'STORAGE_ERR_UNRECOVERABLE' })
    })
    await queue.add(task('bad', 1))
    await queue.add(task('good', 0))
    await queue.onIdle()
    assert.deepEqual(outcomes, [['bad', false, 'STORAGE_ERR_UNRECOVERABLE'], ['good', true, undefined]])
    await assert.rejects(queue.add({ ...task('x', 0), payload: { f: (() => 1) as never } }), { code: 'DURABILITY_ERR_INVALID_ARGUMENT' })
    await assert.rejects(queue.add({ ...task('x', 0), priority: Number.NaN }), { code: 'DURABILITY_ERR_INVALID_ARGUMENT' })
    await assert.rejects(queue.add({ ...task('x', 0), kind: 'defrag' as never }), { code: 'DURABILITY_ERR_INVALID_ARGUMENT' })
    await assert.rejects(queue.add({ ...task('x', 0), payload: { at: new Date(0) as never } }), { code: 'DURABILITY_ERR_INVALID_ARGUMENT' })
    await queue.close()
    await assert.rejects(queue.add(task('late', 0)), { code: 'DURABILITY_ERR_CLOSED' })
    assert.throws(() => new InProcessTaskQueue({ concurrency: 0 }), { code: 'DURABILITY_ERR_INVALID_OPTION', message: /concurrency/ })
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
})
