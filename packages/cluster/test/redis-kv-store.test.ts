// RedisKvStore: the KvStore conformance suite, namespaces, fenced writes, corrupt values, and an
// unreachable Redis.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { RedisKvStore, RedisLocker } from '../src/index.js'
import { describeKvStore } from '../src/testing/index.js'
import { REDIS_URL, TestPrefixes, keysUnder, onceRecovered, openConnection, rawClient, redisSkip } from '../src/testing/redis-fixture.js'
import { TcpRelay } from '@tessera/fault-proxy'

const skip = await redisSkip()
const prefixes = new TestPrefixes('kv')
after(() => prefixes.drop())
const never = new AbortController().signal

describeKvStore(
  'RedisKvStore',
  async () => {
    const connection = await openConnection(prefixes.next())
    return { store: await RedisKvStore.open<unknown>({ connection, namespace: 'uploads' }), teardown: () => connection.close() }
  },
  { skip },
)

describe('RedisKvStore', { skip }, () => {
  test('namespaces and prefixes do not see each other; keys carry the hash tag; delete leaves no key', async () => {
    const prefix = prefixes.next()
    const connection = await openConnection(prefix)
    const other = await openConnection(prefixes.next())
    try {
      const uploads = await RedisKvStore.open<{ n: number }>({ connection, namespace: 'uploads' })
      const partitions = await RedisKvStore.open<{ n: number }>({ connection, namespace: 'partitions' })
      const elsewhere = await RedisKvStore.open<{ n: number }>({ connection: other, namespace: 'uploads' })
      await uploads.set('u1', { n: 1 })
      await partitions.set('u1', { n: 2 })
      await uploads.set('odd{key}%', { n: 3 })
      assert.deepEqual(await partitions.get('u1'), { n: 2 })
      assert.equal(await elsewhere.get('u1'), undefined)
      assert.deepEqual((await uploads.list()).sort(), ['odd{key}%', 'u1'])
      assert.deepEqual(await partitions.list(), ['u1'])
      assert.deepEqual(await elsewhere.list(), [])
      assert.deepEqual(await keysUnder(prefix), [`${prefix}:kv:partitions:{u1}`, `${prefix}:kv:uploads:{odd%7Bkey%7D%25}`, `${prefix}:kv:uploads:{u1}`])
      for (const key of ['u1', 'odd{key}%']) await uploads.delete(key)
      await partitions.delete('u1')
      assert.deepEqual(await keysUnder(prefix), [])
    } finally {
      await Promise.all([connection.close(), other.close()])
    }
  })

  test('writes of a key whose lock this process holds are fenced: refused CLUSTER_ERR_FENCED once the lock is lost', async () => {
    const prefix = prefixes.next()
    const connection = await openConnection(prefix)
    const locker = await RedisLocker.open({ connection, leaseMs: 5000 })
    const raw = rawClient()
    try {
      const records = await RedisKvStore.open<{ offset: number }>({ connection, namespace: 'uploads', fencing: locker })
      await records.set('free', { offset: 1 }) // no lock held here: not fenced
      const lock = locker.newLock('up')
      await lock.lock(never, () => undefined)
      await records.set('up', { offset: 10 })
      await raw.set(lock.fence!.lockKey, '1/another-gateway', 'PX', 5000) // taken over
      await assert.rejects(records.set('up', { offset: 5 }), { code: 'CLUSTER_ERR_FENCED' })
      await assert.rejects(records.delete('up'), { code: 'CLUSTER_ERR_FENCED' })
      await raw.del(lock.fence!.lockKey) // lapsed, nobody took it: still not ours
      await assert.rejects(records.set('up', { offset: 5 }), { code: 'CLUSTER_ERR_FENCED' })
      assert.deepEqual(await records.get('up'), { offset: 10 }, 'the stale writer changed nothing')
      await lock.unlock()
      await records.set('up', { offset: 11 })
      assert.deepEqual(await records.get('up'), { offset: 11 })
    } finally {
      raw.disconnect()
      await locker.close()
      await connection.close()
    }
  })

  test('a value that is not JSON reads CLUSTER_ERR_CORRUPT; bad keys, values and options are refused', async () => {
    const prefix = prefixes.next()
    const connection = await openConnection(prefix)
    const raw = rawClient()
    try {
      const store = await RedisKvStore.open<unknown>({ connection, namespace: 'uploads' })
      await raw.set(connection.keys.kv('uploads', 'bad'), '{not json')
      await assert.rejects(store.get('bad'), { code: 'CLUSTER_ERR_CORRUPT' })
      await assert.rejects(store.set('', { a: 1 }), { code: 'CLUSTER_ERR_INVALID_ARGUMENT' })
      await assert.rejects(store.set('k', undefined), { code: 'CLUSTER_ERR_INVALID_ARGUMENT' })
      await assert.rejects(RedisKvStore.open({ connection, namespace: 'a:b' }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /namespace/ })
      await assert.rejects(RedisKvStore.open({ connection, namespace: 'x', fencing: {} as never }), { code: 'CLUSTER_ERR_INVALID_OPTION', message: /fencing/ })
    } finally {
      raw.disconnect()
      await connection.close()
    }
  })

  test('Redis unreachable: every call rejects CLUSTER_ERR_UNAVAILABLE; service resumes when it is back', { timeout: 20_000 }, async () => {
    const proxy = await TcpRelay.start(REDIS_URL)
    const connection = await openConnection(prefixes.next(), { url: proxy.url('redis'), commandTimeoutMs: 1000 })
    try {
      const store = await RedisKvStore.open<{ n: number }>({ connection, namespace: 'uploads' })
      await store.set('k', { n: 1 })
      await proxy.cut()
      for (const call of [() => store.get('k'), () => store.set('k', { n: 2 }), () => store.delete('k'), () => store.list()]) {
        await assert.rejects(call(), { code: 'CLUSTER_ERR_UNAVAILABLE' })
      }
      await proxy.restore()
      assert.deepEqual(await onceRecovered(() => store.get('k')), { n: 1 }, 'nothing written while cut was applied later')
    } finally {
      await connection.close()
      await proxy.close()
    }
  })
})
