import { silentLogger, type Logger } from '@tessera/storage'
import { integerOption } from './errors.js'
import { connectionOption, type RedisConnection } from './redis-connection.js'

/** Options of `RedisLocker.open`. */
export interface RedisLockerOptions {
  readonly connection: RedisConnection
  /**
   * Lease of a lock, ms ≥ 10: a holder that dies (or stops answering) blocks the id at most this
   * long. Renewed while held. Default 10 000 (the gateway waits up to 20 s for a lock).
   */
  readonly leaseMs?: number
  /** How often a holder renews its lease, ms, 1 ≤ x < `leaseMs`. Default `leaseMs / 3`. */
  readonly renewIntervalMs?: number
  /** How long an idle id's fencing counter is kept, ms ≥ `leaseMs`. Default 24 h (tokens stay monotonic after it lapses). */
  readonly fenceTtlMs?: number
  readonly logger?: Logger
}

/** Defaults of {@link RedisLockerOptions}. */
export const defaultRedisLockerOptions = Object.freeze({ leaseMs: 10_000, fenceTtlMs: 24 * 3600 * 1000 })

/** {@link RedisLockerOptions} validated, defaults applied. */
export interface ResolvedRedisLockerOptions {
  readonly connection: RedisConnection
  readonly leaseMs: number
  readonly renewIntervalMs: number
  readonly fenceTtlMs: number
  readonly logger: Logger
}

/**
 * Validates `options` and applies the defaults; never mutates the caller's object.
 * @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`.
 */
export function resolveRedisLockerOptions(options: RedisLockerOptions): ResolvedRedisLockerOptions {
  const connection = connectionOption(options)
  const leaseMs = integerOption('leaseMs', options.leaseMs ?? defaultRedisLockerOptions.leaseMs, 10)
  return {
    connection,
    leaseMs,
    renewIntervalMs: integerOption('renewIntervalMs', options.renewIntervalMs ?? Math.max(1, Math.floor(leaseMs / 3)), 1, leaseMs - 1),
    fenceTtlMs: integerOption('fenceTtlMs', options.fenceTtlMs ?? defaultRedisLockerOptions.fenceTtlMs, leaseMs),
    logger: options.logger ?? silentLogger,
  }
}
