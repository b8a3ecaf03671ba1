// RedisByteBudget: the bucket's exact arithmetic on an injected clock (the same schedule as
// InProcessTaskQueue's), one bucket shared by gateways, reservations that keep the queue's order.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { RedisByteBudget, type RedisConnection } from '../src/index.js'
import { dropKeys, openConnection, rawClient, redisSkip, uniquePrefix } from '../src/testing/redis-fixture.js'

const skip = await redisSkip()
const prefix = uniquePrefix('budget')
let connection: RedisConnection | undefined
after(async () => {
  await connection?.close()
  await dropKeys(prefix)
})

describe('RedisByteBudget', { skip }, () => {
  let now = 0
  let n = 0
  const budget = async (options: { bytesPerSecond: number; burstBytes: number }, key = `${prefix}:budget:{b${n++}}`): Promise<RedisByteBudget> => {
    connection ??= await openConnection(prefix)
    return new RedisByteBudget(connection.client, { key, ...options, now: () => now })
  }

  test('charges bytes at the rate, and lets a task larger than the burst run into debt', async () => {
    now = 0
    const b = await budget({ bytesPerSecond: 1000, burstBytes: 1000 })
    // InProcessTaskQueue's schedule: a at 0 (1000 → 400); b when 600 again: +200 ms (→ 0); huge
    // when full (1000): +1000 ms → −2000; c when 100: +2100 ms.
    assert.equal(await b.take(600), 0)
    assert.equal(await b.take(600), 200)
    now = 199
    assert.equal(await b.take(600), 1)
    now = 200
    assert.equal(await b.take(600), 0)
    assert.equal(await b.take(3000), 1000)
    now = 1200
    assert.equal(await b.take(3000), 0)
    assert.equal(await b.take(100), 2100)
    now = 3300
    assert.equal(await b.take(100), 0)
    assert.equal(await b.take(0), 0, 'a task of no bytes always starts')
  })

  test('one bucket for every gateway that names it; it never refills past the burst, nor when the clock steps back', async () => {
    now = 0
    const key = `${prefix}:budget:{shared}`
    const [a, b] = [await budget({ bytesPerSecond: 1000, burstBytes: 500 }, key), await budget({ bytesPerSecond: 1000, burstBytes: 500 }, key)]
    assert.equal(await a.take(300), 0)
    assert.equal(await b.take(300), 100, 'b sees what a took')
    now = 10_000
    assert.equal(await b.take(500), 0)
    assert.equal(await a.take(1), 1, 'idle time banks at most the burst')
    now = 5000
    assert.equal(await a.take(1), 1, 'a clock that went back neither refills nor drains the bucket')
    now = 10_001
    assert.equal(await a.take(1), 0, 'refill resumes from the latest time seen')
  })

  test('a refused task reserves the tokens: worse-ranked tasks wait for it, better-ranked ones do not', async () => {
    now = 0
    const b = await budget({ bytesPerSecond: 1000, burstBytes: 1000 })
    assert.equal(await b.take(1000, { priority: 1, order: 1 }), 0)
    assert.equal(await b.take(800, { priority: 5, order: 2 }), 800, 'short: reserves for 800 ms')
    now = 100
    assert.equal(await b.take(1, { priority: 9, order: 3 }), 700, 'worse-ranked: waits until the reserving task is due')
    assert.equal(await b.take(1), 700, 'unranked: waits too')
    assert.equal(await b.take(50, { priority: 5, order: 1 }), 0, 'better-ranked (same priority, earlier): passes')
    now = 850
    assert.equal(await b.take(1, { priority: 9, order: 3 }), 10, 'still behind while the reservation is pending')
    assert.equal(await b.take(800, { priority: 5, order: 2 }), 0, 'the reserving task takes its turn')
    assert.equal(await b.take(1, { priority: 9, order: 3 }), 1, 'then the others go by tokens alone')
  })

  test('a reservation whose task never comes back lapses', async () => {
    now = 0
    const b = await budget({ bytesPerSecond: 1000, burstBytes: 1000 })
    assert.equal(await b.take(1000, { priority: 1, order: 1 }), 0)
    assert.equal(await b.take(500, { priority: 1, order: 2 }), 500)
    now = 5499
    assert.equal(await b.take(1, { priority: 9, order: 9 }), 10)
    now = 5500
    assert.equal(await b.take(1, { priority: 9, order: 9 }), 0)
  })

  test('the bucket key goes once the bucket would be full again', async () => {
    now = 0
    const key = `${prefix}:budget:{expiring}`
    const b = await budget({ bytesPerSecond: 1000, burstBytes: 1000 }, key)
    await b.take(1000)
    const raw = rawClient()
    try {
      const pttl = await raw.pttl(key)
      assert.ok(pttl > 1000 && pttl <= 1000 + 5000 + 1000, `pttl ${pttl}`)
    } finally {
      raw.disconnect()
    }
  })

  test('refuses a rate or burst that is not a positive finite number', async () => {
    connection ??= await openConnection(prefix)
    assert.throws(() => new RedisByteBudget(connection!.client, { key: 'k', bytesPerSecond: Infinity, burstBytes: 1 }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /bytesPerSecond/ })
    assert.throws(() => new RedisByteBudget(connection!.client, { key: 'k', bytesPerSecond: 1, burstBytes: 0 }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /burstBytes/ })
  })
})
