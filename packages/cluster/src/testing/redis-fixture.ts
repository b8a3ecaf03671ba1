// The machine's Redis for every test that needs one — this package's, the gateway's cross-process
// scale-out tests, the scale-out bench: REDIS_URL (default redis://127.0.0.1:6379), a unique key
// prefix per fixture, its keys deleted afterwards, and the rule: unreachable → skip with the
// reason, unless CI is set → fail.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { RedisConnection, type RedisConnectionOptions } from '../redis-connection.js'
import { scanKeys } from '../scan-keys.js'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const inCi = (): boolean => ![undefined, '', '0', 'false'].includes(process.env.CI)

let probed: Promise<string | false> | undefined

/**
 * `false` when Redis answers; otherwise the reason to skip. With CI set an unreachable Redis is
 * an error instead: CI must never silently skip the cluster tests.
 */
export function redisSkip(what = 'the Redis tests'): Promise<string | false> {
  probed ??= (async () => {
    try {
      const c = await RedisConnection.open({ url: REDIS_URL, connectTimeoutMs: 1500 })
      await c.close()
      return false
    } catch (err) {
      if (inCi()) throw new Error(`Redis is unreachable at ${REDIS_URL} and CI is set: ${what} must run (${(err as Error).message})`, { cause: err })
      return `Redis is unreachable at ${REDIS_URL} (${(err as Error).message}); start redis-server or set REDIS_URL (with CI set this fails)`
    }
  })()
  return probed
}

/** A key prefix no other test (or run) shares. */
export function uniquePrefix(label: string): string {
  return `tessera-test:${label}:${process.pid}-${randomBytes(4).toString('hex')}`
}

/**
 * The key prefixes one test file hands out: each unique (`uniquePrefix`), and all their keys
 * deleted by `drop()` — call it from the file's `after`, once whatever writes under them stopped.
 */
export class TestPrefixes {
  readonly #made: string[] = []

  constructor(readonly label: string) {}

  /** A prefix no other test (or run) shares (`tag` names it further), remembered for `drop`. */
  next(tag?: string): string {
    const prefix = uniquePrefix(tag === undefined ? this.label : `${this.label}:${tag}`)
    this.#made.push(prefix)
    return prefix
  }

  /** Deletes every key under every prefix handed out so far. */
  async drop(): Promise<void> {
    await Promise.all(this.#made.splice(0).map(dropKeys))
  }
}

/** A connection under a fresh prefix. */
export function openConnection(prefix: string, options: RedisConnectionOptions = {}): Promise<RedisConnection> {
  return RedisConnection.open({ url: REDIS_URL, keyPrefix: prefix, ...options })
}

/**
 * What `fn` resolves once it stops rejecting — a client reconnecting after its Redis came back
 * (`TcpRelay.restore()`): tried every 100 ms, `tries` times, then the last rejection is the test's.
 */
export async function onceRecovered<T>(fn: () => Promise<T>, tries = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn()
    } catch (err) {
      if (i >= tries) throw err
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

/** A plain ioredis client for assertions and cleanup (not the code under test). */
export function rawClient(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 })
}

/** Deletes every key under `prefix`. */
export async function dropKeys(prefix: string): Promise<void> {
  const client = rawClient()
  try {
    const keys: string[] = []
    for await (const key of scanKeys(client, `${prefix}:*`)) keys.push(key)
    for (let i = 0; i < keys.length; i += 1000) await client.del(...keys.slice(i, i + 1000))
  } finally {
    client.disconnect()
  }
}

/** Keys under `prefix`, sorted (to prove a test left none behind). */
export async function keysUnder(prefix: string): Promise<string[]> {
  const client = rawClient()
  try {
    const out: string[] = []
    for await (const key of scanKeys(client, `${prefix}:*`)) out.push(key)
    return out.sort()
  } finally {
    client.disconnect()
  }
}
