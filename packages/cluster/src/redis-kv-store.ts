import type { KvStore } from '@tus/utils'
import { ClusterError, redisError } from './errors.js'
import { fencingOption, type FenceLookup } from './fence.js'
import { assertName } from './key-layout.js'
import { LuaScript } from './lua-script.js'
import { connectionOption, type RedisConnection } from './redis-connection.js'
import { scanKeys } from './scan-keys.js'

/** Options of {@link RedisKvStore.open}. */
export interface RedisKvStoreOptions {
  readonly connection: RedisConnection
  /** Which store this is (`uploads`, `partitions`), `[A-Za-z0-9_-]{1,64}`: stores with different namespaces never see each other's keys. */
  readonly namespace: string
  /**
   * When set, a `set` or `delete` of key K while this process holds the lock of id K is fenced:
   * refused `CLUSTER_ERR_FENCED` if that lock was lost meanwhile. Pass the gateway's `RedisLocker`
   * (upload records are keyed by upload id, the id of their lock).
   */
  readonly fencing?: FenceLookup
}

/** SET or DEL of KEYS[1] only while KEYS[2] (a lease) still holds ARGV[1]. ARGV[2] 'set'|'del', ARGV[3] value. → 1 done, -1 fenced. */
const fencedWrite = new LuaScript(
  'kv-fenced-write',
  `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
if ARGV[2] == 'set' then redis.call('SET', KEYS[1], ARGV[3]) else redis.call('DEL', KEYS[1]) end
return 1
`,
)

/**
 * @tus/utils' `KvStore` in Redis: one string key per entry holding the value as JSON, under
 * `<prefix>:kv:<namespace>:{<key>}` (the key is the hash tag, so an upload's record shares a slot
 * with its lock and manifest). A `set` is one `SET`: atomic, and durable as Redis is (AOF).
 * `list` walks the keyspace with `SCAN` (no index to keep in step; O(keys in the database)).
 * Every Redis failure rejects `ClusterError` `CLUSTER_ERR_UNAVAILABLE` within the connection's
 * command timeout.
 */
export class RedisKvStore<T> implements KvStore<T> {
  private constructor(
    readonly connection: RedisConnection,
    readonly namespace: string,
    private readonly fencing: FenceLookup | undefined,
  ) {}

  /** @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`. */
  static async open<T>(options: RedisKvStoreOptions): Promise<RedisKvStore<T>> {
    const connection = connectionOption(options)
    return new RedisKvStore<T>(connection, assertName('namespace', options.namespace), fencingOption(options.fencing))
  }

  /**
   * The value of `key`, or `undefined`.
   * @throws ClusterError `CLUSTER_ERR_CORRUPT` (not JSON), `CLUSTER_ERR_UNAVAILABLE`.
   */
  async get(key: string): Promise<T | undefined> {
    let text: string | null
    try {
      text = await this.connection.client.get(this.#key(key))
    } catch (err) {
      throw redisError(err, 'GET')
    }
    if (text === null) return undefined
    try {
      return JSON.parse(text) as T
    } catch (err) {
      throw new ClusterError('CLUSTER_ERR_CORRUPT', `value of ${this.namespace}/${key} is not JSON`, { cause: err })
    }
  }

  /**
   * Stores `value` (as JSON) under `key`.
   * @throws ClusterError `CLUSTER_ERR_FENCED`, `CLUSTER_ERR_INVALID_ARGUMENT`, `CLUSTER_ERR_UNAVAILABLE`.
   */
  async set(key: string, value: T): Promise<void> {
    const json = JSON.stringify(value)
    if (json === undefined) throw new ClusterError('CLUSTER_ERR_INVALID_ARGUMENT', `value of ${this.namespace}/${key} is not JSON-serialisable`)
    await this.#write(key, 'set', json)
  }

  /**
   * Removes `key`; idempotent.
   * @throws ClusterError `CLUSTER_ERR_FENCED`, `CLUSTER_ERR_UNAVAILABLE`.
   */
  async delete(key: string): Promise<void> {
    await this.#write(key, 'del')
  }

  /**
   * Every key of this namespace, each once, in no order.
   * @throws ClusterError `CLUSTER_ERR_UNAVAILABLE`.
   */
  async list(): Promise<string[]> {
    const keys = this.connection.keys
    const out: string[] = []
    for await (const redisKey of scanKeys(this.connection.client, keys.kvPattern(this.namespace))) out.push(keys.kvKeyOf(this.namespace, redisKey))
    return out
  }

  async #write(key: string, op: 'set' | 'del', json?: string): Promise<void> {
    const redisKey = this.#key(key)
    const fence = this.fencing?.fenceOf(key)
    if (fence) {
      const done = await fencedWrite.run(this.connection.client, [redisKey, fence.lockKey], [fence.value, op, json ?? ''])
      if (done === -1) throw new ClusterError('CLUSTER_ERR_FENCED', `${op} of ${this.namespace}/${key} refused: the lock on ${JSON.stringify(key)} (token ${fence.token}) is no longer held`)
      return
    }
    try {
      if (op === 'set') await this.connection.client.set(redisKey, json!)
      else await this.connection.client.del(redisKey)
    } catch (err) {
      throw redisError(err, op.toUpperCase())
    }
  }

  #key(key: string): string {
    if (typeof key !== 'string' || key === '') throw new ClusterError('CLUSTER_ERR_INVALID_ARGUMENT', `a KvStore key must be a non-empty string, got ${JSON.stringify(key)}`)
    return this.connection.keys.kv(this.namespace, key)
  }
}
