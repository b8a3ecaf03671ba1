import { TESSERA_WINNER_HEADER, TesseraMetadataKey } from '@tessera/protocol'
import type { AppendResult } from '@tessera/storage'
import type { Request } from 'express'
import { principalOf, type Principal } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import type { UploadRecord } from '../upload-record.js'
import type { TusDeps } from '../tus/deps.js'
import { LOCK_TIMEOUT_MS, takeLock } from '../tus/take-lock.js'
import { AttemptHash, AttemptHashes } from './attempt-hash.js'
import type { ReconciliationEvent } from './event-log.js'
import { wholeFileSha256, type FinalPart } from './final-check.js'
import { partitionKey, partitionScope, type PartitionRecord } from './partition-record.js'
import { SessionDigests } from './session-digest.js'

type Attempt = UploadRecord & { readonly attempt: NonNullable<UploadRecord['attempt']> }

/**
 * What the reconciler needs of the tus handlers' context (`TusContext` implements it): the stores,
 * live records and offsets, the upload locks, tombstones and paths.
 */
export interface ReconcilerHost {
  readonly deps: TusDeps
  record(id: string, who: Principal): Promise<UploadRecord>
  offset(id: string): Promise<number>
  path(id: string): string
  discard(record: UploadRecord, gone: 'superseded' | 'rejected', winner?: string): Promise<number>
  withLock<T>(id: string, req: Request, fn: (stop: AbortSignal) => Promise<T>): Promise<T>
  withLockSignal<T>(id: string, signal: AbortSignal, fn: (stop: AbortSignal) => Promise<T>): Promise<T>
}

/**
 * The gateway side of reconciliation (docs/reconciliation.md): indexes the attempts of each
 * partition, keeps every attempt's running SHA-256, decides the winner — the first attempt to
 * reach its length with a verified digest, one write under the partition's lock — and retires the
 * others (410 `TESSERA_ERR_SUPERSEDED`, bytes freed). All state is in the KV stores, so a restart
 * picks up where it was; every step is one line of the event log.
 *
 * Lock order: an attempt's own lock, then the partition's, never the other way round; the partition
 * lock is released before a winner takes its losers' locks, and a loser never takes another lock.
 */
export class Reconciler {
  readonly #hashes = new AttemptHashes()
  readonly #sessions: SessionDigests

  constructor(private readonly ctx: ReconcilerHost) {
    this.#sessions = new SessionDigests(ctx.deps.store, ctx.deps.log, ctx.deps.onFault)
  }

  /** Indexes a new attempt under its partition (before its object and record exist: see post-handler). */
  async index(record: UploadRecord): Promise<void> {
    const { attempt } = record
    if (!attempt) return
    const { partitions } = this.ctx.deps
    const key = partitionKey({ ...record, attempt })
    await this.#withPartition(key, attempt.partition, async () => {
      const p: PartitionRecord = (await partitions.get(key)) ?? { partition: attempt.partition, attempts: [] }
      if (!p.attempts.includes(record.id)) await partitions.set(key, { ...p, attempts: [...p.attempts, record.id] })
    })
  }

  /** Logs the creation of an attempt (after its record is saved). */
  async created(record: UploadRecord): Promise<void> {
    if (record.attempt) await this.#event('attempt-created', record as Attempt, record.length ?? 0)
  }

  /**
   * The running hash to feed with a write at `offset` of an attempt that carries `tessera-sha256`
   * (or may still get one: its length is deferred):
   * the one this process kept, or — after a restart, or when it fell behind — rebuilt by re-reading
   * the committed bytes once. `undefined` for uploads without a digest to verify.
   */
  async hashFor(record: UploadRecord, offset: number): Promise<AttemptHash | undefined> {
    // A deferred-length attempt is hashed too: its digest may come with the PATCH that declares
    // its length (`Tessera-Sha256`), after most of its bytes.
    if (!record.attempt || (record.attempt.sha256 === undefined && record.length !== undefined)) return undefined
    return this.#hashes.take(record.id, offset) ?? this.#rebuild(record.id, offset)
  }

  /** Keeps the hash of a write when it covers exactly the committed bytes, else drops it (rebuilt on need). */
  afterWrite(id: string, hash: AttemptHash | undefined, result: AppendResult): void {
    if (!hash) return
    if (result.length === hash.bytes) this.#hashes.keep(id, hash)
    else this.#hashes.drop(id)
  }

  /**
   * The reconciliation step of a request on an upload whose lock the caller holds, at committed
   * `offset`. Plain uploads pass through. An attempt of a partition another attempt won is retired
   * (`GATEWAY_ERR_SUPERSEDED`); a finished, undecided attempt is verified and decided — it wins, or
   * is rejected (`GATEWAY_ERR_CHECKSUM_MISMATCH`, its bytes freed), or lost a race (superseded).
   */
  async reconcile(record: UploadRecord, offset: number): Promise<UploadRecord> {
    if (!record.attempt) return record
    const attempt = record as Attempt
    const p = await this.ctx.deps.partitions.get(partitionKey(attempt))
    if (p?.winner !== undefined && p.winner !== record.id) throw await this.#retire(attempt, p.winner)
    if (p?.winner === record.id || record.length === undefined || offset !== record.length) return record
    await this.#settle(attempt, offset)
    return record
  }

  /**
   * The winner of the partition `record` (any attempt, live or gone) is an attempt of. A finished
   * attempt still undecided (a crash right after its last write) is decided first.
   * @throws GatewayError `GATEWAY_ERR_INVALID_CONCAT` when the partition has no verified attempt.
   */
  async winnerOf(record: UploadRecord, req: Request): Promise<string> {
    const { attempt } = record
    if (!attempt) return record.id
    const key = partitionKey({ ...record, attempt })
    let p = await this.ctx.deps.partitions.get(key)
    if (p?.winner === undefined && !record.gone) {
      await this.ctx
        .withLock(record.id, req, async () => this.reconcile(await this.ctx.record(record.id, principalOf(req)), await this.ctx.offset(record.id)))
        .catch((err: unknown) => {
          if (err instanceof GatewayError && err.code === 'GATEWAY_ERR_SUPERSEDED') return
          throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `cannot concatenate ${this.ctx.path(record.id)}: ${(err as Error).message}`, { cause: err })
        })
      p = await this.ctx.deps.partitions.get(key)
    }
    if (p?.winner === undefined) {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `partition ${attempt.partition} (named by ${this.ctx.path(record.id)}) has no verified attempt yet`)
    }
    return p.winner
  }

  /** The 410 a request on a losing attempt gets, naming the winner. */
  supersededError(id: string, winner: string): GatewayError {
    return new GatewayError('GATEWAY_ERR_SUPERSEDED', `upload ${id} lost: another attempt of its partition was verified first (${this.ctx.path(winner)}); stop sending it`, {
      headers: { [TESSERA_WINNER_HEADER]: this.ctx.path(winner) },
    })
  }

  /** Logs a DELETE or an expiry of an attempt, with the bytes it held. */
  async removed(record: UploadRecord, how: 'attempt-terminated' | 'attempt-expired', bytes: number): Promise<void> {
    if (record.attempt) await this.#event(how, record as Attempt, bytes)
  }

  /**
   * The base64 SHA-256 of a final's parts, in order: the session's running digest when it covers
   * exactly these parts (`read: false`), else one full read of them from the store (`read: true`).
   */
  async finalSha256(parts: readonly FinalPart[], signal: AbortSignal): Promise<{ sha256: string; read: boolean }> {
    const won = parts.every((p) => p.record.attempt !== undefined)
      ? await this.#sessions.digestOf(parts.map(({ record, length }) => ({ id: record.id, partition: partitionScope({ ...record, attempt: record.attempt! }), offset: record.attempt!.offset, length })), signal)
      : undefined
    if (won !== undefined) return { sha256: won, read: false }
    return { sha256: await wholeFileSha256(this.ctx.deps.store, parts.map((p) => p.record.id), signal, this.ctx.deps.onFault), read: true }
  }

  /** Appends a final's event. */
  async finalEvent(event: ReconciliationEvent): Promise<void> {
    await this.ctx.deps.events.append(event)
  }

  async #settle(record: Attempt, offset: number): Promise<void> {
    const { attempt } = record
    const { partitions, now } = this.ctx.deps
    if (attempt.sha256 !== undefined) {
      const hash = (await this.hashFor(record, offset))!
      this.#hashes.drop(record.id)
      if (hash.digestBase64() !== attempt.sha256) throw await this.#reject(record, offset)
    }
    const key = partitionKey(record)
    const decided = await this.#withPartition(key, attempt.partition, async () => {
      const p: PartitionRecord = (await partitions.get(key)) ?? { partition: attempt.partition, attempts: [record.id] }
      if (p.winner !== undefined) return p
      const next: PartitionRecord = {
        ...p,
        attempts: p.attempts.includes(record.id) ? p.attempts : [...p.attempts, record.id],
        winner: record.id,
        wonAt: new Date(now()).toISOString(),
      }
      await partitions.set(key, next)
      return next
    })
    if (decided.winner !== record.id) throw await this.#retire(record, decided.winner!)
    this.ctx.deps.log.info({ uploadId: record.id, partition: attempt.partition, attempt: attempt.attempt, verified: attempt.sha256 !== undefined }, 'attempt won its partition')
    if (attempt.wholeFileSha256) this.#sessions.won({ id: record.id, partition: partitionScope(record), offset: attempt.offset, length: offset })
    await this.#event('attempt-won', record, offset, attempt.sha256 === undefined ? { reason: `unverified: no ${TesseraMetadataKey.sha256}` } : {})
    for (const other of decided.attempts) if (other !== record.id) await this.#retireOther(other, record.id)
  }

  /** Frees a loser's bytes and leaves a tombstone naming the winner; resolves the error to answer with. Caller holds its lock. */
  async #retire(record: Attempt, winner: string): Promise<GatewayError> {
    const bytes = await this.ctx.discard(record, 'superseded', winner)
    this.ctx.deps.log.info({ uploadId: record.id, partition: record.attempt.partition, winner, bytes }, 'attempt superseded; its bytes were freed')
    await this.#event('attempt-lost', record, bytes, { winner })
    return this.supersededError(record.id, winner)
  }

  /** Retires another attempt after a win: takes its lock, which stops an in-flight PATCH of it first. */
  async #retireOther(id: string, winner: string): Promise<void> {
    try {
      await this.ctx.withLockSignal(id, AbortSignal.timeout(LOCK_TIMEOUT_MS), async () => {
        const record = await this.ctx.deps.records.get(id)
        if (!record?.attempt || record.gone) return
        await this.#retire(record as Attempt, winner)
      })
    } catch (err) {
      // Left to the loser's next request (its partition names the winner) or to expiry.
      this.ctx.deps.log.warn({ uploadId: id, winner, err }, 'could not retire a losing attempt now')
    }
  }

  /** A finished attempt whose bytes do not hash to its `tessera-sha256`: freed, tombstoned, 460. */
  async #reject(record: Attempt, bytes: number): Promise<GatewayError> {
    // One removal routine for every tombstone; its stat repeats `bytes` on this rare path.
    await this.ctx.discard(record, 'rejected')
    this.ctx.deps.log.info({ uploadId: record.id, partition: record.attempt.partition, bytes }, 'attempt rejected: its bytes do not match tessera-sha256')
    await this.#event('attempt-rejected', record, bytes)
    return new GatewayError(
      'GATEWAY_ERR_CHECKSUM_MISMATCH',
      `the ${bytes} bytes of upload ${record.id} do not match its ${TesseraMetadataKey.sha256}; the attempt was discarded, create it again`,
    )
  }

  /** Re-reads an attempt's committed bytes to rebuild its hash (once: it is kept after the next write). */
  async #rebuild(id: string, offset: number): Promise<AttemptHash> {
    const hash = new AttemptHash()
    if (offset === 0) return hash
    this.ctx.deps.log.info({ uploadId: id, bytes: offset }, 'rebuilding an attempt hash from its stored bytes')
    for await (const chunk of await this.ctx.deps.store.read(id, { end: offset, ...(this.ctx.deps.onFault && { onFault: this.ctx.deps.onFault }) })) hash.update(chunk)
    return hash
  }

  async #withPartition<T>(key: string, partition: string, fn: () => Promise<T>): Promise<T> {
    // The lock id is the partition's KV key, so a fencing store (the cluster's RedisKvStore)
    // fences the partition record by it; never an upload id (those are 32 hex digits).
    const lock = this.ctx.deps.locker.newLock(key)
    // Holders keep it for a few KV operations; there is nothing to ask them to release.
    await takeLock(lock, AbortSignal.timeout(LOCK_TIMEOUT_MS), () => undefined, `partition ${partition} is busy`)
    try {
      return await fn()
    } finally {
      await lock.unlock()
    }
  }

  async #event(event: ReconciliationEvent['event'], record: Attempt, bytes: number, extra: Partial<ReconciliationEvent> = {}): Promise<void> {
    const { partition, attempt, offset } = record.attempt
    await this.ctx.deps.events.append({ event, uploadId: record.id, partition, attempt, offset, bytes, ...extra })
  }
}
