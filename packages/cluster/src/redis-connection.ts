import { Redis } from 'ioredis'
import { silentLogger, type Logger } from '@tessera/storage'
import { ClusterError, integerOption, invalidOption, redisError } from './errors.js'
import { KeyLayout } from './key-layout.js'
import { Subscriber } from './subscriber.js'
import { within } from './within.js'

/** Options of {@link RedisConnection.open}. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). Default `redis://127.0.0.1:6379`. */
  readonly url?: string
  /** Prefix of every key and channel, `[A-Za-z0-9_.:-]{1,100}`: clusters sharing one Redis use different ones. Default `'tessera'`. */
  readonly keyPrefix?: string
  /** How long opening (TCP + handshake) may take before `CLUSTER_ERR_UNAVAILABLE`, ms ≥ 1. Default 2 000. */
  readonly connectTimeoutMs?: number
  /** How long one command may wait for its answer before it rejects `CLUSTER_ERR_UNAVAILABLE`, ms ≥ 1. Default 2 000. */
  readonly commandTimeoutMs?: number
  /** Shown in `CLIENT LIST` (`[A-Za-z0-9_-]`). Default `'tessera'`. */
  readonly clientName?: string
  readonly logger?: Logger
}

/** Defaults of {@link RedisConnectionOptions}. */
export const defaultRedisConnectionOptions = Object.freeze({
  url: 'redis://127.0.0.1:6379',
  keyPrefix: 'tessera',
  connectTimeoutMs: 2000,
  commandTimeoutMs: 2000,
  clientName: 'tessera',
})

/** {@link RedisConnectionOptions} validated, defaults applied. */
export interface ResolvedRedisConnectionOptions {
  readonly url: string
  readonly keyPrefix: string
  readonly connectTimeoutMs: number
  readonly commandTimeoutMs: number
  readonly clientName: string
  readonly logger: Logger
}

/**
 * Validates `options` and applies the defaults; never mutates the caller's object.
 * @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`.
 */
export function resolveRedisConnectionOptions(options: RedisConnectionOptions = {}): ResolvedRedisConnectionOptions {
  const d = defaultRedisConnectionOptions
  const url = options.url ?? d.url
  if (typeof url !== 'string' || !/^rediss?:\/\/./.test(url)) throw invalidOption('url', 'a redis:// or rediss:// URL', url)
  const clientName = options.clientName ?? d.clientName
  if (typeof clientName !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(clientName)) throw invalidOption('clientName', 'a string of 1–64 characters from [A-Za-z0-9_-]', clientName)
  return {
    url,
    keyPrefix: new KeyLayout(options.keyPrefix ?? d.keyPrefix).prefix,
    connectTimeoutMs: integerOption('connectTimeoutMs', options.connectTimeoutMs ?? d.connectTimeoutMs, 1),
    commandTimeoutMs: integerOption('commandTimeoutMs', options.commandTimeoutMs ?? d.commandTimeoutMs, 1),
    clientName,
    logger: options.logger ?? silentLogger,
  }
}

/** The `connection` option every component of this package takes. Internal. @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`. */
export function connectionOption(options: { readonly connection: RedisConnection } | undefined): RedisConnection {
  const connection: unknown = options?.connection
  if (!(connection instanceof RedisConnection)) throw invalidOption('connection', 'a RedisConnection', connection)
  return connection
}

/** The ioredis options {@link RedisConnection.redisOptions} hands to clients it does not own (BullMQ's). */
export interface RedisClientOptions {
  readonly host: string | undefined
  readonly port: number | undefined
  readonly db: number | undefined
  readonly username?: string
  readonly password?: string
  readonly tls?: object
  readonly connectionName: string
  readonly connectTimeout: number
  readonly commandTimeout: number | undefined
  readonly enableOfflineQueue: boolean
  readonly autoResendUnfulfilledCommands: boolean
  readonly maxRetriesPerRequest: number | null
  readonly retryStrategy: (times: number) => number
}

/**
 * One gateway's link to Redis: a command connection shared by the locker and the stores, and a
 * second one for pub/sub (opened on first use). Failures are bounded and never deferred:
 * - `open` gives up after `connectTimeoutMs`;
 * - every command rejects after `commandTimeoutMs` at most;
 * - a command issued while the connection is down is refused at once (no offline queue), and one
 *   in flight when it drops is rejected, never re-sent later (ioredis' defaults would queue and
 *   retry it, so a caller could be told "failed" and see it applied afterwards);
 * - reconnects never stop (backoff 50 ms doubling to 1 s), so service resumes when Redis is back.
 * Every such rejection is a `ClusterError` `CLUSTER_ERR_UNAVAILABLE`. A command that timed out
 * on a live connection may still have been applied — the one ambiguity no client can remove.
 *
 * BullMQ opens connections of its own from {@link redisOptions} (its workers need retries and
 * `maxRetriesPerRequest: null` for their blocking reads).
 */
export class RedisConnection {
  readonly keys: KeyLayout
  readonly options: ResolvedRedisConnectionOptions
  #subscriber: Promise<Subscriber> | undefined
  #subscriberClient: Redis | undefined
  #closed = false

  private constructor(
    /** The command connection (ioredis). */
    readonly client: Redis,
    options: ResolvedRedisConnectionOptions,
  ) {
    this.options = options
    this.keys = new KeyLayout(options.keyPrefix)
  }

  /**
   * Connects and checks Redis answers (`PING`).
   * @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`, `CLUSTER_ERR_UNAVAILABLE` (within `connectTimeoutMs`).
   */
  static async open(options: RedisConnectionOptions = {}): Promise<RedisConnection> {
    const o = resolveRedisConnectionOptions(options)
    const client = createClient(o, 'cmd')
    try {
      await connectWithin(client, o.connectTimeoutMs)
      await client.ping()
    } catch (err) {
      client.disconnect()
      throw redisError(err, `connecting to ${redactUrl(o.url)}`)
    }
    return new RedisConnection(client, o)
  }

  /**
   * ioredis options equivalent to `url` with this connection's timeouts, for clients this
   * package does not own (BullMQ's). The caller adjusts retries for its own needs.
   */
  redisOptions(role: string): RedisClientOptions {
    return clientOptions(this.options, role)
  }

  /**
   * Listens to a pub/sub channel; resolves once subscribed, with the function that stops listening.
   * @throws ClusterError `CLUSTER_ERR_UNAVAILABLE`, `CLUSTER_ERR_CLOSED`.
   */
  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    if (this.#closed) throw new ClusterError('CLUSTER_ERR_CLOSED', 'the redis connection is closed')
    this.#subscriber ??= this.#openSubscriber()
    let subscriber: Subscriber
    try {
      subscriber = await this.#subscriber
    } catch (err) {
      this.#subscriber = undefined
      throw err
    }
    return subscriber.subscribe(channel, listener)
  }

  /** Closes both connections (commands in flight are rejected). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([quit(this.client), this.#subscriberClient && quit(this.#subscriberClient)])
  }

  async #openSubscriber(): Promise<Subscriber> {
    const client = createClient(this.options, 'sub')
    try {
      await connectWithin(client, this.options.connectTimeoutMs)
    } catch (err) {
      client.disconnect()
      throw redisError(err, 'opening the pub/sub connection')
    }
    this.#subscriberClient = client
    return new Subscriber(client)
  }
}

function clientOptions(o: ResolvedRedisConnectionOptions, role: string): RedisClientOptions {
  // The URL's own fields (host, port, db, password, tls) come from ioredis' parser.
  const parsed = new Redis(o.url, { lazyConnect: true }).options
  return {
    host: parsed.host,
    port: parsed.port,
    db: parsed.db,
    ...(parsed.username !== undefined && { username: parsed.username }),
    ...(parsed.password !== undefined && { password: parsed.password }),
    ...(parsed.tls !== undefined && { tls: parsed.tls as object }),
    connectionName: `${o.clientName}-${role}`,
    connectTimeout: o.connectTimeoutMs,
    commandTimeout: o.commandTimeoutMs,
    // Fail, never run late: a command issued while disconnected is refused at once instead of
    // queued, and one in flight when the connection drops is rejected, not re-sent after the
    // reconnect — a caller told "failed" must not see it applied later (a lease, a manifest append).
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
  }
}

function createClient(o: ResolvedRedisConnectionOptions, role: string): Redis {
  const client = new Redis({ ...clientOptions(o, role), lazyConnect: true })
  // Without a listener ioredis prints every reconnect failure; callers see typed rejections instead.
  let last = 0
  client.on('error', (err: Error) => {
    const now = Date.now()
    if (now - last < 10_000) return
    last = now
    o.logger.warn({ err, role }, 'redis connection error')
  })
  return client
}

/** Connects within `ms`; a failure names the socket's own error (ECONNREFUSED…), not ioredis' "Connection is closed". */
async function connectWithin(client: Redis, ms: number): Promise<void> {
  let socketError: Error | undefined
  const onError = (err: Error): void => void (socketError ??= err)
  client.on('error', onError)
  try {
    await within(client.connect(), ms, 'no connection')
  } catch (err) {
    throw socketError ?? err
  } finally {
    client.off('error', onError)
  }
}

async function quit(client: Redis): Promise<void> {
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}
