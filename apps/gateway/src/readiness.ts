import type { Logger, ObjectStore } from '@tessera/storage'
import type { GatewayDurability } from './gateway-durability.js'

/** `GET /_tessera/ready`: whether a load balancer should send this gateway uploads (JSON, no backend or object names). */
export interface ReadinessReport {
  /** `ready`: uploads can be taken; `unready`: too few writable backends, or Redis unreachable; `stopping`: graceful shutdown. */
  readonly status: 'ready' | 'unready' | 'stopping'
  readonly checks: {
    /** Backends not known to be down, and how many a stripe needs stored to commit (the write quorum, k + 1 when m ≥ 1). */
    readonly backends: { readonly ok: boolean; readonly up: number; readonly total: number; readonly needed: number }
    /** Scale-out only (`--redis-url`): the cluster's Redis answered a `PING` (at most about a second ago). */
    readonly redis?: { readonly ok: boolean }
  }
}

/** Options of {@link RedisReachability}. */
export interface RedisReachabilityOptions {
  /** How long a `PING` may take before Redis counts as unreachable, ms. Default 500. */
  readonly timeoutMs?: number
  /** How long an answer is reused, ms: probes polling every few hundred ms cost one `PING` a second. Default 1 000. */
  readonly cacheMs?: number
  /** Clock, ms. Default `Date.now`. */
  readonly now?: () => number
}

/**
 * Whether the cluster's Redis answers, for readiness: a real `PING` bounded by a short timeout, its
 * answer cached for about a second, concurrent callers sharing one `PING`. A change either way is
 * one log line (warn when lost, info when back).
 */
export class RedisReachability {
  readonly #timeoutMs: number
  readonly #cacheMs: number
  readonly #now: () => number
  #last: { readonly atMs: number; readonly ok: boolean } | undefined
  #pending: Promise<boolean> | undefined

  /** `ping` resolves when Redis answered `PING` and rejects otherwise (`ClusterState.ping`). */
  constructor(
    private readonly ping: () => Promise<unknown>,
    private readonly log: Logger,
    options: RedisReachabilityOptions = {},
  ) {
    this.#timeoutMs = options.timeoutMs ?? 500
    this.#cacheMs = options.cacheMs ?? 1000
    this.#now = options.now ?? Date.now
  }

  /** Resolves whether Redis answered within the timeout; never rejects. */
  reachable(): Promise<boolean> {
    const last = this.#last
    if (last && this.#now() - last.atMs < this.#cacheMs) return Promise.resolve(last.ok)
    this.#pending ??= this.#probe().finally(() => (this.#pending = undefined))
    return this.#pending
  }

  async #probe(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    let ok = true
    try {
      await Promise.race([
        this.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no PONG within ${this.#timeoutMs} ms`)), this.#timeoutMs)
        }),
      ])
    } catch (err) {
      ok = false
      if (this.#last?.ok !== false) this.log.warn({ err }, 'readiness: redis unreachable')
    } finally {
      clearTimeout(timer)
    }
    if (ok && this.#last?.ok === false) this.log.info({}, 'readiness: redis reachable again')
    this.#last = { atMs: this.#now(), ok }
    return ok
  }
}

/**
 * The readiness answer: the durability summary's backend count against the write quorum (the same
 * figures `GET /_tessera/health` gives), Redis when the gateway is part of a cluster, and
 * `stopping` from the moment shutdown began.
 */
export async function readiness(durability: GatewayDurability, store: ObjectStore, stopping: boolean, redis: RedisReachability | undefined): Promise<ReadinessReport> {
  const { backends } = durability.summary(store, stopping)
  const backendsOk = backends.up >= backends.writeQuorum
  const redisOk = redis === undefined ? undefined : await redis.reachable()
  const status = stopping ? 'stopping' : backendsOk && redisOk !== false ? 'ready' : 'unready'
  return {
    status,
    checks: {
      backends: { ok: backendsOk, up: backends.up, total: backends.total, needed: backends.writeQuorum },
      ...(redisOk !== undefined && { redis: { ok: redisOk } }),
    },
  }
}
