// RedisManifestStore: the ManifestStore conformance suite of @tessera/storage, the key layout,
// fenced writes, and an unreachable Redis (StorageError codes, as the object store expects).
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { describeManifestStore, stripeRecord } from '@tessera/storage/testing'
import { RedisLocker, RedisManifestStore } from '../src/index.js'
import { REDIS_URL, TestPrefixes, keysUnder, onceRecovered, openConnection, rawClient, redisSkip } from '../src/testing/redis-fixture.js'
import { TcpRelay } from '@tessera/fault-proxy'

const skip = await redisSkip()
const prefixes = new TestPrefixes('mf')
after(() => prefixes.drop())
const never = new AbortController().signal
const empty = { stripes: [], sources: [], referrers: [], deleted: false }

describeManifestStore(
  'RedisManifestStore',
  async () => {
    const connection = await openConnection(prefixes.next())
    return { store: await RedisManifestStore.open({ connection }), teardown: () => connection.close() }
  },
  { skip },
)

describe('RedisManifestStore', { skip }, () => {
  test('a manifest is a hash and a list under the object’s hash tag; delete removes both', async () => {
    const prefix = prefixes.next()
    const connection = await openConnection(prefix)
    try {
      const store = await RedisManifestStore.open({ connection })
      await store.appendStripes('obj-1', [stripeRecord(1)])
      assert.deepEqual(await keysUnder(prefix), [`${prefix}:manifest:{obj-1}`, `${prefix}:stripes:{obj-1}`])
      await store.delete('obj-1')
      assert.deepEqual(await keysUnder(prefix), [])
    } finally {
      await connection.close()
    }
  })

  test('writes to a manifest whose lock this process holds are fenced: STORAGE_ERR_CONFLICT (cause CLUSTER_ERR_FENCED) once lost', async () => {
    const prefix = prefixes.next()
    const connection = await openConnection(prefix)
    const locker = await RedisLocker.open({ connection, leaseMs: 5000 })
    const raw = rawClient()
    try {
      const store = await RedisManifestStore.open({ connection, fencing: locker })
      const lock = locker.newLock('up')
      await lock.lock(never, () => undefined)
      assert.equal(await store.appendStripes('up', [stripeRecord(1)]), 1)
      await store.update('up', 1, { ...empty, stripes: [stripeRecord(1)], referrers: ['r'] })
      await raw.set(lock.fence!.lockKey, '1/another-gateway', 'PX', 5000)
      const fenced = (err: unknown): boolean => {
        assert.equal((err as { code?: string }).code, 'STORAGE_ERR_CONFLICT')
        assert.equal((err as { cause?: { code?: string } }).cause?.code, 'CLUSTER_ERR_FENCED')
        return true
      }
      await assert.rejects(store.appendStripes('up', [stripeRecord(2)]), fenced)
      await assert.rejects(store.update('up', 2, empty), fenced)
      await assert.rejects(store.delete('up'), fenced)
      await raw.del(lock.fence!.lockKey)
      await assert.rejects(store.appendStripes('up', [stripeRecord(2)]), fenced, 'a lapsed lease is not ours either')
      assert.deepEqual(await store.get('up'), { version: 2, stripes: [stripeRecord(1)], sources: [], referrers: ['r'], deleted: false })
      assert.equal(await store.appendStripes('not-locked', [stripeRecord(3)]), 1, 'ids this process holds no lock on are not fenced')
      await lock.unlock()
      assert.equal(await store.appendStripes('up', [stripeRecord(2)]), 3)
    } finally {
      raw.disconnect()
      await locker.close()
      await connection.close()
    }
  })

  test('a stored manifest that is not JSON reads STORAGE_ERR_CORRUPT', async () => {
    const connection = await openConnection(prefixes.next())
    const raw = rawClient()
    try {
      const store = await RedisManifestStore.open({ connection })
      await store.appendStripes('c', [stripeRecord(1)])
      await raw.rpush(connection.keys.stripes('c'), '{torn')
      await assert.rejects(store.get('c'), { code: 'STORAGE_ERR_CORRUPT' })
      await assert.rejects(store.update('c', -1, empty), { code: 'STORAGE_ERR_INVALID_ARGUMENT' })
    } finally {
      raw.disconnect()
      await connection.close()
    }
  })

  test('Redis unreachable: STORAGE_ERR_UNAVAILABLE (what the gateway answers 503 for); service resumes when it is back', { timeout: 20_000 }, async () => {
    const proxy = await TcpRelay.start(REDIS_URL)
    const connection = await openConnection(prefixes.next(), { url: proxy.url('redis'), commandTimeoutMs: 1000 })
    try {
      const store = await RedisManifestStore.open({ connection })
      await store.appendStripes('m', [stripeRecord(1)])
      await proxy.cut()
      const unavailable = (err: unknown): boolean => {
        assert.equal((err as { code?: string }).code, 'STORAGE_ERR_UNAVAILABLE')
        assert.equal((err as { cause?: { code?: string } }).cause?.code, 'CLUSTER_ERR_UNAVAILABLE')
        return true
      }
      await assert.rejects(store.get('m'), unavailable)
      await assert.rejects(store.appendStripes('m', [stripeRecord(2)]), unavailable)
      await assert.rejects(store.update('m', 1, empty), unavailable)
      await assert.rejects(async () => {
        for await (const _ of store.list());
      }, unavailable)
      await proxy.restore()
      assert.equal((await onceRecovered(() => store.get('m')))?.version, 1, 'nothing refused while cut was applied later')
    } finally {
      await connection.close()
      await proxy.close()
    }
  })
})
