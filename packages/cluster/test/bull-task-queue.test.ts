// BullTaskQueue: the TaskQueue conformance suite of @tessera/durability, and what only a shared
// queue does — tasks outliving the gateway that added or ran them (real processes, SIGKILL), a
// byte budget shared by gateways, the cluster-wide pause, the priority mapping, an unreachable Redis.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, afterEach, before, describe, test } from 'node:test'
import type { TaskDescriptor } from '@tessera/durability'
import { describeTaskQueue } from '@tessera/durability/testing'
import { BULL_PRIORITY_LIMIT, BullTaskQueue, RedisConnection, toBullPriority, type BullTaskQueueOptions } from '../src/index.js'
import { Child } from './helpers/child.js'
import { REDIS_URL, TestPrefixes, dropKeys, onceRecovered, openConnection, redisSkip } from '../src/testing/redis-fixture.js'
import { TcpRelay, closedPort } from '@tessera/fault-proxy'

const skip = await redisSkip()
const prefixes = new TestPrefixes('queue')
after(() => prefixes.drop())
const children: Child[] = []
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
after(async () => void (await Promise.all(children.map((c) => c.stop()))))

function task(key: string, priority: number, bytes = 0, payload: TaskDescriptor['payload'] = {}): TaskDescriptor {
  return { kind: 'regenerate', key, priority, bytes, reason: 'test', payload: { objectId: key, ...payload } }
}

/** A gateway's queue under `prefix`, closed (with its connection) after the test. */
async function gatewayQueue(prefix: string, options: Partial<BullTaskQueueOptions> = {}): Promise<BullTaskQueue> {
  const connection = await openConnection(prefix)
  const queue = await BullTaskQueue.open({ connection, pollMs: 20, ...options })
  cleanups.push(async () => (await queue.close(), await connection.close()))
  return queue
}

describeTaskQueue(
  'BullTaskQueue',
  async ({ concurrency, bytesPerSecond, burstBytes }) => {
    const prefix = prefixes.next()
    const connection = await openConnection(prefix)
    const queue = await BullTaskQueue.open({ connection, concurrency, bytesPerSecond, ...(burstBytes !== undefined && { burstBytes }), tasksPerInterval: Infinity, pollMs: 20 })
    return { queue, teardown: async () => (await connection.close(), await dropKeys(prefix)) }
  },
  { skip },
)

describe('BullTaskQueue', { skip, timeout: 60_000 }, () => {
  // Two gateway processes, both to be SIGKILLed, started together (each costs a second or more of
  // CPU to start): one adds to queue `orphans`, the other works on queue `stalls`.
  const shared = prefixes.next()
  let adder: Child, runner: Child
  const start = async (queue: string, lockMs: number): Promise<Child> => {
    const child = Child.start('queue-worker', { REDIS_URL, PREFIX: shared, QUEUE: queue, LOCK_MS: String(lockMs), STALLED_MS: '300' })
    children.push(child)
    await child.next('ready')
    return child
  }
  before(async () => {
    ;[adder, runner] = await Promise.all([start('orphans', 30_000), start('stalls', 1000)])
  })

  test('a task added by a gateway that then died runs on another', async () => {
    adder.send({ cmd: 'add', task: task('orphan', 3, 0, { objectId: 'o-1' }) })
    assert.equal((await adder.next('added')).added, true)
    adder.kill('SIGKILL')
    await adder.exited
    const b = await gatewayQueue(shared, { name: 'orphans' })
    const ran: TaskDescriptor[] = []
    b.process(async (t) => void ran.push(t))
    await b.onIdle()
    assert.deepEqual(ran, [task('orphan', 3, 0, { objectId: 'o-1' })])
  })

  test('a task whose gateway was SIGKILLed while running it runs again on another after its lease; it stays deduplicated meanwhile', async () => {
    runner.send({ cmd: 'work' })
    await runner.next('working')
    const b = await gatewayQueue(shared, { name: 'stalls', lockDurationMs: 1000, stalledIntervalMs: 300 })
    assert.equal(await b.add(task('stuck', 3, 0, { hang: true })), true)
    assert.equal((await runner.next('started')).key, 'stuck')
    runner.kill('SIGKILL')
    await runner.exited
    assert.equal(await b.add(task('stuck', 3, 0, { hang: true })), false, 'still running as far as the cluster knows')
    const ran: string[] = []
    b.process(async (t) => void ran.push(t.key))
    await b.onIdle()
    assert.deepEqual(ran, ['stuck'])
  })

  test('the byte budget is the cluster’s: two gateways together stay within it', async () => {
    // 8 tasks × 1 000 B at 20 000 B/s with a 1 000 B burst: the last may start only when
    // 8 000 − 1 000 B have refilled, ≥ 350 ms after the bucket was first drawn from (after t0).
    const prefix = prefixes.next()
    const options = { concurrency: 4, bytesPerSecond: 20_000, burstBytes: 1000 }
    const [a, b] = [await gatewayQueue(prefix, options), await gatewayQueue(prefix, options)]
    const starts: number[] = []
    a.pause()
    b.pause()
    const t0 = Date.now()
    for (const q of [a, b]) q.process(async () => void starts.push(Date.now() - t0))
    for (let i = 0; i < 8; i++) await a.add(task(`t${i}`, 1, 1000))
    a.resume()
    b.resume()
    await Promise.all([a.onIdle(), b.onIdle()])
    assert.equal(starts.length, 8)
    assert.ok(Math.max(...starts) >= 349, `the last task started ${Math.max(...starts)} ms after t0: over budget`)
  })

  test('pauseCluster stops every gateway’s worker; resumeCluster restarts them', async () => {
    const prefix = prefixes.next()
    const [a, b] = [await gatewayQueue(prefix), await gatewayQueue(prefix)]
    const ran: string[] = []
    b.process(async (t) => void ran.push(t.key))
    await a.pauseCluster()
    await a.add(task('held-back', 1))
    await sleep(200) // a window: a paused cluster that runs the task anyway is caught here
    assert.deepEqual(ran, [])
    assert.deepEqual(await a.counts(), { waiting: 1, running: 0 })
    await a.resumeCluster()
    await b.onIdle()
    assert.deepEqual(ran, ['held-back'])
  })

  test('float priorities map onto BullMQ’s integers: order kept, ends clamped, never 0', () => {
    const p = (x: number): number => toBullPriority(x, 0, 8)
    assert.equal(p(8), 1)
    assert.equal(p(0), BULL_PRIORITY_LIMIT)
    assert.equal(p(100), 1)
    assert.equal(p(-1), BULL_PRIORITY_LIMIT)
    const planner = [3 + 0.9, 3 + 0.001, 3, 2 + 0.5, 2.0001, 2, 1.5, 1, 0]
    const mapped = planner.map(p)
    for (let i = 1; i < mapped.length; i++) assert.ok(mapped[i]! > mapped[i - 1]!, `${planner[i]} must run after ${planner[i - 1]}`)
    assert.ok(mapped.every((m) => Number.isInteger(m) && m >= 1 && m <= BULL_PRIORITY_LIMIT))
  })

  test('Redis unreachable: open and add reject CLUSTER_ERR_UNAVAILABLE, in bounded time', { timeout: 20_000 }, async () => {
    const port = await closedPort()
    await assert.rejects(
      (async () => BullTaskQueue.open({ connection: await RedisConnection.open({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 }) }))(),
      { code: 'CLUSTER_ERR_UNAVAILABLE' },
    )
    const proxy = await TcpRelay.start(REDIS_URL)
    cleanups.push(() => proxy.close())
    const prefix = prefixes.next()
    const connection = await openConnection(prefix, { url: proxy.url('redis'), connectTimeoutMs: 500, commandTimeoutMs: 1000 })
    const queue = await BullTaskQueue.open({ connection, pollMs: 20 })
    cleanups.push(async () => (await queue.close(), await connection.close()))
    await proxy.cut()
    await assert.rejects(queue.add(task('lost', 1)), { code: 'CLUSTER_ERR_UNAVAILABLE' })
    await assert.rejects(queue.counts(), { code: 'CLUSTER_ERR_UNAVAILABLE' })
    await proxy.restore()
    assert.equal(await onceRecovered(() => queue.add(task('later', 1))), true)
  })

  test('refuses invalid options, naming them', async () => {
    const connection = await openConnection(prefixes.next())
    cleanups.push(() => connection.close())
    for (const [options, name] of [
      [{ name: 'a:b' }, /name/],
      [{ concurrency: 0 }, /concurrency/],
      [{ bytesPerSecond: 0 }, /bytesPerSecond/],
      [{ tasksPerInterval: 0.5 }, /tasksPerInterval/],
      [{ maxPriority: -1 }, /maxPriority/],
      [{ lockDurationMs: 10 }, /lockDurationMs/],
    ] as const) {
      await assert.rejects(BullTaskQueue.open({ connection, ...options }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: name })
    }
  })
})
