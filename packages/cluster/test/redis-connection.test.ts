// RedisConnection: bounded, typed failures (refused, hung, cut) and recovery; options; the key
// layout that keeps one upload's keys in one Redis Cluster slot.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { KeyLayout, RedisConnection, RedisKvStore, resolveRedisConnectionOptions } from '../src/index.js'
import { REDIS_URL, dropKeys, openConnection, redisSkip, uniquePrefix } from '../src/testing/redis-fixture.js'
import { TcpRelay, closedPort } from '@tessera/fault-proxy'
import { blackhole } from './helpers/sockets.js'

const skip = await redisSkip()
const prefix = uniquePrefix('conn')
after(() => dropKeys(prefix))

/** The part of a key Redis Cluster hashes: the first `{…}` with something inside, else the whole key. */
function hashTagOf(key: string): string {
  const open = key.indexOf('{')
  const close = open < 0 ? -1 : key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : key
}

describe('KeyLayout', () => {
  test('every key of one id shares its hash tag (one Redis Cluster slot), whatever the id holds', () => {
    const keys = new KeyLayout('tessera')
    for (const id of ['upload-1', 'partition:s1/3', 'a{b}c', '}{', '%7B', '{}']) {
      const all = [keys.lock(id), keys.fence(id), keys.waiting(id), keys.freedChannel(id), keys.kv('uploads', id), keys.manifest(id), keys.stripes(id)]
      const tags = new Set(all.map(hashTagOf))
      assert.equal(tags.size, 1, `${id}: ${all.join(' ')}`)
      assert.notEqual([...tags][0], all[0], `${id} has a tag of its own`)
      assert.equal(keys.kvKeyOf('uploads', keys.kv('uploads', id)), id)
      assert.equal(keys.manifestIdOf(keys.manifest(id)), id)
    }
    assert.notEqual(hashTagOf(keys.lock('a{b}c')), hashTagOf(keys.lock('a')), 'an id cannot borrow another id’s slot by closing its tag early')
    assert.equal(hashTagOf(`${keys.bullPrefix}:${keys.bullQueue('durability')}:wait`), 'durability')
    assert.equal(hashTagOf(keys.budget('durability')), 'durability', 'the byte budget shares the queue’s slot')
  })

  test('refuses a prefix that could break a tag or a SCAN pattern', () => {
    for (const bad of ['', 'a{b', 'a}b', 'a*', 'a b', 'x'.repeat(101)]) assert.throws(() => new KeyLayout(bad), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /keyPrefix/ })
  })
})

describe('RedisConnection', () => {
  test('options: defaults, and invalid values refused naming the option', () => {
    assert.deepEqual({ ...resolveRedisConnectionOptions(), logger: undefined }, { url: 'redis://127.0.0.1:6379', keyPrefix: 'tessera', connectTimeoutMs: 2000, commandTimeoutMs: 2000, clientName: 'tessera', logger: undefined })
    assert.throws(() => resolveRedisConnectionOptions({ url: 'http://x' }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /url/ })
    assert.throws(() => resolveRedisConnectionOptions({ connectTimeoutMs: 0 }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /connectTimeoutMs/ })
    assert.throws(() => resolveRedisConnectionOptions({ commandTimeoutMs: 1.5 }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /commandTimeoutMs/ })
    assert.throws(() => resolveRedisConnectionOptions({ keyPrefix: 'a{b}' }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /keyPrefix/ })
  })

  test('nothing listening: open rejects CLUSTER_ERR_UNAVAILABLE, without the password in the message', { timeout: 10_000 }, async () => {
    const port = await closedPort()
    await assert.rejects(RedisConnection.open({ url: `redis://user:s3cret@127.0.0.1:${port}`, connectTimeoutMs: 500 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CLUSTER_ERR_UNAVAILABLE')
      assert.doesNotMatch(err.message, /s3cret/)
      return true
    })
  })

  test('a server that never answers: open rejects CLUSTER_ERR_UNAVAILABLE after connectTimeoutMs, not never', { timeout: 10_000 }, async () => {
    const hole = await blackhole()
    try {
      await assert.rejects(RedisConnection.open({ url: hole.url, connectTimeoutMs: 300 }), { code: 'CLUSTER_ERR_UNAVAILABLE' })
    } finally {
      await hole.close()
    }
  })

  test('Redis hangs after connecting: a command rejects CLUSTER_ERR_UNAVAILABLE after commandTimeoutMs; then answers again', { skip, timeout: 15_000 }, async () => {
    const proxy = await TcpRelay.start(REDIS_URL)
    const connection = await openConnection(prefix, { url: proxy.url('redis'), commandTimeoutMs: 300 })
    try {
      const store = await RedisKvStore.open<number>({ connection, namespace: 'hang' })
      await store.set('k', 1)
      proxy.stall()
      await assert.rejects(store.get('k'), { code: 'CLUSTER_ERR_UNAVAILABLE' })
      proxy.unstall()
      assert.equal(await store.get('k'), 1)
    } finally {
      await connection.close()
      await proxy.close()
    }
  })

  test('subscribe after close rejects CLUSTER_ERR_CLOSED; close is idempotent', { skip }, async () => {
    const connection = await openConnection(prefix)
    await connection.close()
    await connection.close()
    await assert.rejects(connection.subscribe('c', () => undefined), { code: 'CLUSTER_ERR_CLOSED' })
  })
})
