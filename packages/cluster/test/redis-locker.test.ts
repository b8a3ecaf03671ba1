// RedisLocker in one process: the Locker conformance suite, and what only a Redis lock has —
// several lockers (gateways) on one Redis, fencing tokens, lease renewal and loss, no spinning,
// close, and an unreachable Redis. Cross-process behaviour: locker-processes.test.ts.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, describe, test } from 'node:test'
import { RedisLocker, type RedisConnection, type RedisLockerOptions } from '../src/index.js'
import { describeLocker } from '../src/testing/index.js'
import { REDIS_URL, TestPrefixes, onceRecovered, openConnection, rawClient, redisSkip } from '../src/testing/redis-fixture.js'
import { TcpRelay } from '@tessera/fault-proxy'

const skip = await redisSkip()
const prefixes = new TestPrefixes('locker')
after(() => prefixes.drop())
const never = new AbortController().signal

interface Gateway {
  readonly connection: RedisConnection
  readonly locker: RedisLocker
  readonly close: () => Promise<void>
}

/** One gateway's locker under `prefix` (several gateways share a prefix). */
async function gateway(prefix: string, options: Partial<RedisLockerOptions> = {}, url = REDIS_URL): Promise<Gateway> {
  const connection = await openConnection(prefix, { url, commandTimeoutMs: 1000 })
  const locker = await RedisLocker.open({ connection, leaseMs: 5000, ...options })
  return { connection, locker, close: async () => (await locker.close(), await connection.close()) }
}

describeLocker(
  'RedisLocker',
  async () => {
    const g = await gateway(prefixes.next())
    return { locker: g.locker, teardown: g.close }
  },
  { skip },
)

describe('RedisLocker', { skip }, () => {
  test('two gateways exclude each other; a waiter on one asks the holder on the other, which hands over', async () => {
    const prefix = prefixes.next()
    const [a, b] = await Promise.all([gateway(prefix), gateway(prefix)])
    try {
      const held = a.locker.newLock('x')
      await held.lock(never, () => void held.unlock())
      const tokenA = held.fence!.token
      const waiting = b.locker.newLock('x')
      await waiting.lock(AbortSignal.timeout(4000), () => undefined) // the lease is 5 s: only the hand-over is this fast
      assert.equal(held.fence, undefined)
      assert.ok(waiting.fence!.token > tokenA)
      assert.equal(a.locker.held, 0)
      assert.equal(b.locker.held, 1)
      await waiting.unlock()
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  test('fencing tokens grow with every grant, across gateways, and after the counter key is gone', async () => {
    const prefix = prefixes.next()
    const [a, b] = await Promise.all([gateway(prefix), gateway(prefix)])
    const raw = rawClient()
    try {
      const tokens: number[] = []
      for (const g of [a, b, a, b]) {
        const lock = g.locker.newLock('t')
        await lock.lock(never, () => undefined)
        tokens.push(lock.fence!.token)
        await lock.unlock()
      }
      await raw.del(a.connection.keys.fence('t'))
      await sleep(10)
      const lock = b.locker.newLock('t')
      await lock.lock(never, () => undefined)
      tokens.push(lock.fence!.token)
      await lock.unlock()
      for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i]! > tokens[i - 1]!, `token ${i} (${tokens[i]}) after ${tokens[i - 1]}`)
      assert.ok(tokens.every(Number.isSafeInteger))
    } finally {
      raw.disconnect()
      await Promise.all([a.close(), b.close()])
    }
  })

  test('fenceOf and assertHeld: the holder’s fence while held; LOCK_LOST once taken over, and the holder is asked to stop', async () => {
    const g = await gateway(prefixes.next())
    const raw = rawClient()
    try {
      let asked = 0
      const lock = g.locker.newLock('f')
      await lock.lock(never, () => void asked++)
      assert.deepEqual(g.locker.fenceOf('f'), lock.fence)
      assert.equal(lock.fence!.lockKey, g.connection.keys.lock('f'))
      assert.equal(await raw.get(lock.fence!.lockKey), lock.fence!.value)
      assert.deepEqual(await g.locker.assertHeld('f'), lock.fence)
      assert.equal(g.locker.fenceOf('other'), undefined)
      await assert.rejects(g.locker.assertHeld('other'), { code: 'CLUSTER_ERR_LOCK_LOST' })
      await raw.set(lock.fence!.lockKey, '1/someone-else', 'PX', 5000)
      await assert.rejects(lock.assertHeld(), { code: 'CLUSTER_ERR_LOCK_LOST' })
      await assert.rejects(g.locker.assertHeld('f'), { code: 'CLUSTER_ERR_LOCK_LOST' })
      await sleep(5)
      assert.equal(asked, 1)
      assert.notEqual(g.locker.fenceOf('f'), undefined, 'a lost lock keeps its fence, so fenced writes fail instead of going unfenced')
      await lock.unlock()
      assert.equal(g.locker.fenceOf('f'), undefined)
      assert.equal(await raw.get(g.connection.keys.lock('f')), '1/someone-else', 'unlock never frees another holder’s lease')
    } finally {
      raw.disconnect()
      await g.close()
    }
  })

  test('a held lock is renewed past its lease; another gateway gets it only after unlock', async () => {
    const prefix = prefixes.next()
    const [a, b] = await Promise.all([gateway(prefix, { leaseMs: 300, renewIntervalMs: 100 }), gateway(prefix, { leaseMs: 300 })])
    try {
      const lock = a.locker.newLock('r')
      await lock.lock(never, () => undefined)
      const other = b.locker.newLock('r')
      await assert.rejects(other.lock(AbortSignal.timeout(1000), () => undefined), { name: 'TimeoutError' })
      await a.locker.assertHeld('r')
      await lock.unlock()
      await other.lock(AbortSignal.timeout(1000), () => undefined)
      await other.unlock()
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  // The request to release is all this test waits for: without it the test would hang, not fail.
  test('the renewal notices a lease taken over and asks the holder to release', { timeout: 10_000 }, async () => {
    const g = await gateway(prefixes.next(), { leaseMs: 300, renewIntervalMs: 50 })
    const raw = rawClient()
    try {
      const lock = g.locker.newLock('l')
      const asked = new Promise<void>((resolve) => void lock.lock(never, resolve).then(() => raw.set(lock.fence!.lockKey, '1/intruder', 'PX', 5000)))
      await asked
      await lock.unlock()
    } finally {
      raw.disconnect()
      await g.close()
    }
  })

  test('a waiter does not spin: its commands while waiting are bounded by leases, not by time', async () => {
    const prefix = prefixes.next()
    const [a, b] = await Promise.all([gateway(prefix, { leaseMs: 600 }), gateway(prefix, { leaseMs: 600 })])
    const raw = rawClient()
    const monitor = await raw.monitor()
    try {
      const held = a.locker.newLock('s')
      await held.lock(never, () => undefined)
      const info = String(await b.connection.client.client('INFO'))
      const addr = /addr=(\S+)/.exec(info)![1]
      let commands = 0
      monitor.on('monitor', (_time: string, _args: string[], source: string) => {
        if (source === addr) commands++
      })
      await assert.rejects(b.locker.newLock('s').lock(AbortSignal.timeout(1800), () => undefined), { name: 'TimeoutError' })
      // Two attempts and one release request up front, then one attempt per lease (600 ms) at most:
      // about 6. Polling every 10 ms would be 180.
      assert.ok(commands <= 8, `the waiter sent ${commands} commands in 1.8 s`)
      assert.ok(commands >= 3, `the monitor saw ${commands} commands: is it watching the right connection?`)
      await held.unlock()
    } finally {
      monitor.disconnect()
      raw.disconnect()
      await Promise.all([a.close(), b.close()])
    }
  })

  test('close rejects waiters CLUSTER_ERR_CLOSED and frees held leases at once', async () => {
    const prefix = prefixes.next()
    const [a, b] = await Promise.all([gateway(prefix), gateway(prefix)])
    try {
      await a.locker.newLock('c').lock(never, () => undefined)
      const waiter = assert.rejects(a.locker.newLock('c').lock(never, () => undefined), { code: 'CLUSTER_ERR_CLOSED' })
      await a.close()
      await waiter
      await assert.rejects(a.locker.newLock('d').lock(never, () => undefined), { code: 'CLUSTER_ERR_CLOSED' })
      const next = b.locker.newLock('c')
      await next.lock(AbortSignal.timeout(1000), () => undefined) // the lease is 5 s
      await next.unlock()
    } finally {
      await b.close()
    }
  })

  test('Redis unreachable: lock rejects CLUSTER_ERR_UNAVAILABLE, unlock still resolves; it works again once Redis is back', { timeout: 20_000 }, async () => {
    const proxy = await TcpRelay.start(REDIS_URL)
    const g = await gateway(prefixes.next(), {}, proxy.url('redis'))
    try {
      const held = g.locker.newLock('held')
      await held.lock(never, () => undefined)
      await proxy.cut()
      await assert.rejects(g.locker.newLock('u').lock(never, () => undefined), { code: 'CLUSTER_ERR_UNAVAILABLE' })
      await assert.rejects(g.locker.assertHeld('held'), { code: 'CLUSTER_ERR_UNAVAILABLE' })
      await held.unlock() // logged; the lease lapses on its own
      await proxy.restore()
      await onceRecovered(async () => {
        const lock = g.locker.newLock('u')
        await lock.lock(AbortSignal.timeout(2000), () => undefined)
        await lock.unlock()
      })
    } finally {
      await g.close()
      await proxy.close()
    }
  })

  test('refuses invalid options, naming them', async () => {
    const g = await gateway(prefixes.next())
    try {
      await assert.rejects(RedisLocker.open({ connection: g.connection, leaseMs: 5 }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /leaseMs/ })
      await assert.rejects(RedisLocker.open({ connection: g.connection, leaseMs: 100, renewIntervalMs: 100 }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /renewIntervalMs/ })
      await assert.rejects(RedisLocker.open({ connection: {} as never }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /connection/ })
    } finally {
      await g.close()
    }
  })
})
