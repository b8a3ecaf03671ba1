import { StorageError, assertObjectId, type Manifest, type ManifestStore, type StripeRecord } from '@tessera/storage'
import { ClusterError } from './errors.js'
import { fencingOption, type Fence, type FenceLookup } from './fence.js'
import { LuaScript } from './lua-script.js'
import { connectionOption, type RedisConnection } from './redis-connection.js'
import { scanKeys } from './scan-keys.js'

/** Options of {@link RedisManifestStore.open}. */
export interface RedisManifestStoreOptions {
  readonly connection: RedisConnection
  /**
   * When set, every write to the manifest of an id whose lock this process holds is fenced: the
   * script compares the lease in Redis with this holder's {@link Fence} before it writes, and a
   * holder whose lease was lost or taken over gets `STORAGE_ERR_CONFLICT` (cause
   * `CLUSTER_ERR_FENCED`) instead of committing. Pass the gateway's `RedisLocker`.
   */
  readonly fencing?: FenceLookup
}

/** `ARGV[1]` is the fence value (or ''), checked against KEYS[3] when there is a third key. */
const FENCE_CHECK = `if #KEYS == 3 and redis.call('GET', KEYS[3]) ~= ARGV[1] then return {-1} end`

/** RPUSH of ARGV[from..] onto KEYS[2], in slices (Lua's unpack is bounded). */
const PUSH_FROM = `
local function push(from)
  for i = from, #ARGV, 1000 do
    redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
end`

/** KEYS: manifest, stripes. → nil, or {version, sources, referrers, deleted, stripe…} read atomically. */
const getScript = new LuaScript(
  'manifest-get',
  `
local h = redis.call('HMGET', KEYS[1], 'version', 'sources', 'referrers', 'deleted')
if not h[1] then return false end
local out = {h[1], h[2], h[3], h[4]}
local s = redis.call('LRANGE', KEYS[2], 0, -1)
for i = 1, #s do out[#out + 1] = s[i] end
return out
`,
)

/** KEYS: manifest, stripes[, lock]. ARGV: fence, stripe…. Creates (version 1) or extends. → {version} | {-1} fenced. */
const appendScript = new LuaScript(
  'manifest-append',
  `${FENCE_CHECK}
${PUSH_FROM}
local version
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'version', 1, 'sources', '[]', 'referrers', '[]', 'deleted', '0')
  version = 1
else
  version = redis.call('HINCRBY', KEYS[1], 'version', 1)
end
push(2)
return {version}
`,
)

/**
 * KEYS: manifest, stripes[, lock]. ARGV: fence, expectedVersion, sources, referrers, deleted, stripe….
 * Check-and-set on the version. → {version} | {-1} fenced | {-2, current version} conflict.
 */
const updateScript = new LuaScript(
  'manifest-update',
  `${FENCE_CHECK}
${PUSH_FROM}
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[2]) then return {-2, current} end
redis.call('DEL', KEYS[2])
push(6)
redis.call('HSET', KEYS[1], 'version', current + 1, 'sources', ARGV[3], 'referrers', ARGV[4], 'deleted', ARGV[5])
return {current + 1}
`,
)

/** KEYS: manifest, stripes[, lock]. ARGV: fence. → {1} | {-1} fenced. */
const deleteScript = new LuaScript(
  'manifest-delete',
  `${FENCE_CHECK}
redis.call('DEL', KEYS[1], KEYS[2])
return {1}
`,
)

/**
 * The object store's `ManifestStore` in Redis, for gateways that share objects. A manifest is a
 * hash `<prefix>:manifest:{id}` (version, sources, referrers, deleted) and a list
 * `<prefix>:stripes:{id}` of stripe records (JSON), one slot per object thanks to the `{id}` tag.
 * Every change is one Lua script, so it is atomic and isolated: `appendStripes` pushes a batch and
 * bumps the version in one step (an append is O(batch), not O(manifest)); `update` is a
 * check-and-set on the version; `get` reads hash and list in one step, never a half-applied change.
 * A change is durable once Redis acknowledged it, as durable as Redis' persistence (AOF) makes it.
 *
 * Errors are `StorageError`s, as the port expects: `STORAGE_ERR_CONFLICT` (a version mismatch, or
 * a fenced write — cause `ClusterError` `CLUSTER_ERR_FENCED`), `STORAGE_ERR_UNAVAILABLE` (Redis
 * unreachable; cause `CLUSTER_ERR_UNAVAILABLE`, within the command timeout), `STORAGE_ERR_IO`
 * (Redis refused the command), `STORAGE_ERR_CORRUPT` and `STORAGE_ERR_INVALID_KEY`.
 */
export class RedisManifestStore implements ManifestStore {
  private constructor(
    readonly connection: RedisConnection,
    private readonly fencing: FenceLookup | undefined,
  ) {}

  /** @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`. */
  static async open(options: RedisManifestStoreOptions): Promise<RedisManifestStore> {
    const connection = connectionOption(options)
    return new RedisManifestStore(connection, fencingOption(options.fencing))
  }

  /** The manifest of `id` (hash and list read in one script), or `undefined`. @throws StorageError `STORAGE_ERR_CORRUPT`, `STORAGE_ERR_UNAVAILABLE`. */
  async get(id: string): Promise<Manifest | undefined> {
    assertObjectId(id)
    const reply = (await this.#run(getScript, id, [], 'read')) as string[] | null
    if (reply === null) return undefined
    const [version, sources, referrers, deleted, ...stripes] = reply
    try {
      return {
        version: Number(version),
        stripes: stripes.map((s) => JSON.parse(s) as StripeRecord),
        sources: JSON.parse(sources!) as string[],
        referrers: JSON.parse(referrers!) as string[],
        deleted: deleted === '1',
      }
    } catch (err) {
      throw new StorageError('STORAGE_ERR_CORRUPT', `manifest ${id} in redis is not valid JSON`, { cause: err })
    }
  }

  /**
   * Appends `stripes` in one step, creating the manifest at version 1; resolves the new version. A
   * rejection may still have been applied (a timed-out command): read the manifest back before undoing.
   * @throws StorageError `STORAGE_ERR_CONFLICT` (fenced), `STORAGE_ERR_UNAVAILABLE`.
   */
  async appendStripes(id: string, stripes: readonly StripeRecord[]): Promise<number> {
    assertObjectId(id)
    const fence = this.fencing?.fenceOf(id)
    const [version] = (await this.#run(appendScript, id, stripes.map((s) => JSON.stringify(s)), 'append', fence)) as [number]
    return this.#checked(id, version, fence)
  }

  /** Replaces the manifest if it is at `expectedVersion` (0 = absent). @throws StorageError `STORAGE_ERR_CONFLICT` (version or fence), `STORAGE_ERR_INVALID_ARGUMENT`, `STORAGE_ERR_UNAVAILABLE`. */
  async update(id: string, expectedVersion: number, next: Omit<Manifest, 'version'>): Promise<Manifest> {
    assertObjectId(id)
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0) throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`expectedVersion\` to be an integer from 0 and up, got ${String(expectedVersion)}`)
    const fence = this.fencing?.fenceOf(id)
    const args = [expectedVersion, JSON.stringify(next.sources), JSON.stringify(next.referrers), next.deleted ? '1' : '0', ...next.stripes.map((s) => JSON.stringify(s))]
    const [version, current] = (await this.#run(updateScript, id, args, 'update', fence)) as [number, number?]
    if (version === -2) throw new StorageError('STORAGE_ERR_CONFLICT', `manifest ${id} is at version ${current}, expected ${expectedVersion}`)
    this.#checked(id, version, fence)
    return { stripes: [...next.stripes], sources: [...next.sources], referrers: [...next.referrers], deleted: next.deleted, version }
  }

  /** Removes the manifest; idempotent. @throws StorageError `STORAGE_ERR_CONFLICT` (fenced), `STORAGE_ERR_UNAVAILABLE`. */
  async delete(id: string): Promise<void> {
    assertObjectId(id)
    const fence = this.fencing?.fenceOf(id)
    const [done] = (await this.#run(deleteScript, id, [], 'delete', fence)) as [number]
    this.#checked(id, done, fence)
  }

  /** Every object id with a manifest, by `SCAN` (O(keys in the database)). @throws StorageError `STORAGE_ERR_UNAVAILABLE`. */
  async *list(): AsyncIterable<string> {
    const keys = this.connection.keys
    try {
      for await (const key of scanKeys(this.connection.client, keys.manifestPattern())) yield keys.manifestIdOf(key)
    } catch (err) {
      throw storageError(err, 'list manifests')
    }
  }

  async #run(script: LuaScript, id: string, args: readonly (string | number)[], what: string, fence?: Fence): Promise<unknown> {
    const keys = this.connection.keys
    const k = [keys.manifest(id), keys.stripes(id), ...(fence ? [fence.lockKey] : [])]
    try {
      return await script.run(this.connection.client, k, [fence?.value ?? '', ...args])
    } catch (err) {
      throw storageError(err, `${what} manifest ${id}`)
    }
  }

  #checked(id: string, result: number, fence: Fence | undefined): number {
    if (result !== -1) return result
    const cause = new ClusterError('CLUSTER_ERR_FENCED', `the lock on ${id} (token ${fence?.token}) is no longer held: another holder took over`)
    throw new StorageError('STORAGE_ERR_CONFLICT', `manifest ${id} not written: ${cause.message}`, { cause })
  }
}

function storageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err
  const unavailable = err instanceof ClusterError && err.code === 'CLUSTER_ERR_UNAVAILABLE'
  return new StorageError(unavailable ? 'STORAGE_ERR_UNAVAILABLE' : 'STORAGE_ERR_IO', `cannot ${what}: ${(err as Error).message}`, { cause: err })
}
