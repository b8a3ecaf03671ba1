import { randomBytes } from 'node:crypto'
import type { Request } from 'express'
import { mayAccess, type Principal } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import { UploadLifecycle } from '../lifecycle/upload-lifecycle.js'
import { LruMap } from '../reconciliation/lru-map.js'
import { Reconciler, type ReconcilerHost } from '../reconciliation/reconciler.js'
import type { GoneReason, UploadRecord } from '../upload-record.js'
import type { TusDeps } from './deps.js'
import { LOCK_TIMEOUT_MS, takeLock } from './take-lock.js'

const ID = /^[A-Za-z0-9_-]{1,200}$/

/**
 * Shared helpers of the tus handlers: record lookup with 404/410, locking with release-on-request,
 * URLs, and the set of in-flight writes that shutdown stops.
 */
export class TusContext implements ReconcilerHost {
  /**
   * Upload id → stop signal of the request holding its lock (one per id: the lock is exclusive).
   * Shutdown aborts them so they commit and answer; expiration leaves their uploads alone.
   */
  readonly inflight = new Map<string, AbortController>()
  /** Upload id → when a request last let go of its lock here, ms: the latest 100 (the dashboard's uploads in flight). */
  readonly lastWrites = new LruMap<string, number>(100)
  #shuttingDown = false
  /** Reconciliation of Tessera partials (hedged attempts of one partition). */
  readonly reconciler: Reconciler
  /** What happens to uploads, for metrics and hooks (the handlers report to it). */
  readonly lifecycle = new UploadLifecycle()

  constructor(readonly deps: TusDeps) {
    this.reconciler = new Reconciler(this)
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown
  }

  /** A fresh upload id: 128 random bits, URL- and path-safe. */
  newId(): string {
    return randomBytes(16).toString('hex')
  }

  /**
   * The upload record of `id` as `who` may see it: 404 when unknown (or not an id at all) and —
   * answered exactly alike, so nothing tells them apart — when it is another owner's (docs/auth.md);
   * 410 when terminated or expired.
   */
  async record(id: string, who: Principal): Promise<UploadRecord> {
    if (!ID.test(id)) throw new GatewayError('GATEWAY_ERR_NOT_FOUND', `no upload ${JSON.stringify(id)}`)
    return this.live(id, await this.deps.records.get(id), who)
  }

  /** {@link record} for a record the caller already read (`undefined` when there was none). */
  async live(id: string, record: UploadRecord | undefined, who: Principal): Promise<UploadRecord> {
    // Ownership before anything else: another owner's upload must not even be expired by this request.
    if (!record || !mayAccess(who, record)) throw new GatewayError('GATEWAY_ERR_NOT_FOUND', `no upload ${id}`)
    if (record.gone === 'superseded' && record.winner !== undefined) throw this.reconciler.supersededError(id, record.winner)
    if (record.gone === 'rejected') throw new GatewayError('GATEWAY_ERR_GONE', `upload ${id} was rejected: its bytes did not match its tessera-sha256`)
    if (record.gone) throw new GatewayError('GATEWAY_ERR_GONE', `upload ${id} was ${record.gone}`)
    if (await this.isExpired(record)) {
      await this.expire(record)
      throw new GatewayError('GATEWAY_ERR_GONE', `upload ${id} expired at ${record.expiresAt}`)
    }
    return record
  }

  /** Committed bytes of an upload. */
  async offset(id: string): Promise<number> {
    const stat = await this.deps.store.stat(id)
    if (!stat) throw new GatewayError('GATEWAY_ERR_GONE', `upload ${id} has no stored data`)
    return stat.length
  }

  /**
   * Whether a live upload's time ran out. Never while a request holds its lock — of this gateway
   * or, through the cluster's locker, of any other: a PATCH longer than `--expire-after` is being
   * written to now, and is not expired under it.
   */
  async isExpired(record: UploadRecord): Promise<boolean> {
    if (record.gone || record.expiresAt === undefined || Date.parse(record.expiresAt) > this.deps.now() || this.inflight.has(record.id)) return false
    return !(await this.deps.locker.isLocked(record.id))
  }

  /** Removes an unfinished upload whose time ran out; its id answers 410 afterwards. */
  async expire(record: UploadRecord): Promise<void> {
    const bytes = await this.discard(record, 'expired')
    this.deps.log.info({ uploadId: record.id, expiresAt: record.expiresAt }, 'upload expired')
    await this.reconciler.removed(record, 'attempt-expired', bytes)
  }

  /**
   * Frees an upload's bytes and leaves its {@link tombstone}. Resolves the bytes it held — counted
   * for attempts only, whose events report them; 0 otherwise (no `stat`).
   */
  async discard(record: UploadRecord, gone: GoneReason, winner?: string): Promise<number> {
    const bytes = record.attempt ? ((await this.deps.store.stat(record.id))?.length ?? 0) : 0
    await this.deps.store.delete(record.id)
    await this.deps.records.set(record.id, tombstone(record, gone, this.deps.now(), winner))
    this.lifecycle.emit(gone === 'expired' ? { type: 'expired', upload: record } : { type: 'terminated', upload: record, reason: gone })
    return bytes
  }

  /** When an unfinished upload written to now expires (ISO), per `--expire-after`. */
  expiresAt(): string {
    return new Date(this.deps.now() + this.deps.config.expireAfterMs).toISOString()
  }

  /**
   * Runs `fn` holding the upload's lock. A later request for the same upload asks this one to
   * release: `stop` then aborts, and `fn` must finish promptly (a write commits what it has).
   */
  async withLock<T>(id: string, req: Request, fn: (stop: AbortSignal) => Promise<T>): Promise<T> {
    const gaveUp = new AbortController()
    const onClose = (): void => gaveUp.abort(new Error('client went away'))
    req.once('close', onClose)
    return this.withLockSignal(id, AbortSignal.any([gaveUp.signal, AbortSignal.timeout(LOCK_TIMEOUT_MS)]), fn, () => req.off('close', onClose))
  }

  /**
   * {@link withLock} for work no request waits on (reconciliation retiring a losing attempt):
   * gives up waiting when `signal` aborts. `onLocked` runs once the wait is over, either way.
   *
   * @throws GatewayError `GATEWAY_ERR_SHUTTING_DOWN`; `GATEWAY_ERR_LOCKED` (423) when `signal`
   *   aborted the wait — the holder did not let go. A locker that fails by itself is not busy: its
   *   error is rethrown as it is (the cluster's `CLUSTER_ERR_UNAVAILABLE`, `CLUSTER_ERR_CLOSED`: 503).
   */
  async withLockSignal<T>(id: string, signal: AbortSignal, fn: (stop: AbortSignal) => Promise<T>, onLocked?: () => void): Promise<T> {
    if (this.#shuttingDown) {
      onLocked?.()
      throw new GatewayError('GATEWAY_ERR_SHUTTING_DOWN', 'the gateway is shutting down; retry shortly')
    }
    const stop = new AbortController()
    const lock = this.deps.locker.newLock(id)
    const waitStarted = performance.now()
    let acquired = false
    try {
      await takeLock(lock, signal, () => stop.abort(), `upload ${id} is busy with another request that did not release it`)
      acquired = true
    } finally {
      this.lifecycle.lockWaited({ uploadId: id, waitedMs: performance.now() - waitStarted, acquired })
      onLocked?.()
    }
    this.inflight.set(id, stop)
    try {
      return await fn(stop.signal)
    } finally {
      this.inflight.delete(id)
      this.lastWrites.set(id, this.deps.now())
      await lock.unlock()
    }
  }

  /** Stops taking locks and asks every request holding one to finish now. */
  shutdown(): void {
    this.#shuttingDown = true
    for (const stop of this.inflight.values()) stop.abort(new GatewayError('GATEWAY_ERR_SHUTTING_DOWN', 'shutting down'))
  }

  /** Path of an upload, as used in `Location` and `Upload-Concat`. */
  path(id: string): string {
    return `${this.deps.config.basePath}/${id}`
  }

  /** Absolute URL of an upload for `Location`, from the request's own scheme and host. */
  url(req: Request, id: string): string {
    return `${this.#origin(req)}${this.path(id)}`
  }

  /**
   * The upload id a concatenation URL (absolute or path) names; 400 when it is not one of ours —
   * an absolute URL must name the host the request was sent to.
   */
  idFromUrl(url: string, req: Request): string {
    let own: URL
    let parsed: URL
    try {
      own = new URL(this.#origin(req))
      parsed = new URL(url, own)
    } catch {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `Upload-Concat names ${JSON.stringify(url)}, which is not a URL`)
    }
    const prefix = `${this.deps.config.basePath}/`
    const id = parsed.host === own.host && parsed.pathname.startsWith(prefix) ? parsed.pathname.slice(prefix.length) : ''
    if (!ID.test(id)) throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `Upload-Concat names ${JSON.stringify(url)}, which is not an upload of this server`)
    return id
  }

  #origin(req: Request): string {
    const { host, port } = this.deps.config
    return `${req.protocol}://${req.get('host') ?? `${host.includes(':') ? `[${host}]` : host}:${port}`}`
  }
}

/**
 * The record kept for a removed upload so its id answers 410, not 404. An attempt keeps its
 * partition (a final naming it still resolves to the winner) and, when superseded, the winner; an
 * owned upload its owner (to others it stays a 404).
 */
function tombstone(record: UploadRecord, gone: GoneReason, now: number, winner?: string): UploadRecord {
  return {
    id: record.id,
    metadata: {},
    createdAt: record.createdAt,
    expiresAt: new Date(now).toISOString(),
    gone,
    ...(record.attempt && { attempt: record.attempt }),
    ...(winner !== undefined && { winner }),
    ...(record.owner !== undefined && { owner: record.owner }),
  }
}
