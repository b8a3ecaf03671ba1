import type { UploadMetadata } from '@tessera/protocol'
import type { Attempt, SplitRequest } from './attempt.js'
import type { ClientError } from './errors.js'
import type { ResolvedUploadOptions } from './options.js'
import type { Partition } from './partition.js'
import type { Clock, HashFactory } from './ports.js'
import type { SplitThresholds } from './split-decision.js'
import type { TusClient } from './tus-client.js'
import type { UploadEventMap } from './upload-events.js'

// What a partition run needs from its upload and reports to the hedge loop (the contracts between
// `PartitionRun` and `Upload` / `HedgeController` / `SplitController`).

/** What the hedge and split loops see of a partition run and ask of it (`PartitionRun` implements it). */
export interface TrackedRun {
  readonly p: Partition
  readonly running: ReadonlySet<Attempt>
  /** The partition's length, bytes (0 while unknown). */
  readonly totalBytes: number
  /** Hedges started for it so far. */
  readonly hedges: number
  /** A cut of its attempt is in progress: no hedge, no second cut. */
  readonly cutting: boolean
  /** Starts a hedge on `endpoint`; undefined when the run cannot take one now. */
  hedge(endpoint: string): Attempt | undefined
  /** Aborts attempt `a` as stalled (the model judged it dead) so the partition resumes elsewhere. */
  abandon(a: Attempt, dead: number, silentMs: number): void
  /** Asks attempt `a` to be cut for a split; false when it cannot be now. */
  split(a: Attempt, why: SplitRequest): boolean
}

/** How a partition run reports to the hedge loop (implemented by `HedgeController`). */
export interface HedgeHooks {
  track(run: TrackedRun): void
  untrack(run: TrackedRun): void
  /** `bytes` more body bytes of attempt `a` went to its socket. */
  sent(a: Attempt, bytes: number): void
  /** Attempt `a` ended (won, lost, failed, paused). */
  ended(a: Attempt): void
  /** Attempt `a` won its partition (ran by this run, its answer seen) at `endedMs`. */
  won(a: Attempt, endedMs: number): void
}

/** Why a partition was split: the rate its cut PATCH got through and the time its rest would have taken at it, plus the cut's trigger. */
export interface SplitReason extends SplitRequest {
  readonly rateBps: number
  readonly remainingMs: number
}

/** What an attempt's end tells the per-endpoint models. */
export type AttemptOutcome = { ok: true; bytes: number; durationMs: number; maxGapMs: number; maxBodyGapMs: number } | { ok: false; stalled: boolean }

/** What a {@link runPartition} needs from its upload. */
export interface RunnerContext {
  readonly options: ResolvedUploadOptions
  readonly tus: TusClient
  readonly clock: Clock
  readonly hash: HashFactory
  /** Endpoints in use (after discovery). */
  readonly endpoints: readonly string[]
  /** Whether PATCHes carry `Upload-Checksum: sha256` (unless the partition's digest is verified instead). */
  readonly checksum: boolean
  /**
   * Every endpoint verifies an attempt's `tessera-sha256` when it completes: a partition with a
   * digest is sent in PATCHes of ≤ {@link streamedPatchBytes} streamed from the source, with no
   * per-PATCH checksum — its digest covers every byte once.
   */
  readonly partitionsVerified: boolean
  /**
   * Every endpoint takes a deferred length and its digest as trailers of the PATCH that sends the
   * last byte (`Tessera-Reconciliation: length-trailer`) and the transport can send them: no empty
   * length-declaring PATCH after it.
   */
  readonly lengthTrailers: boolean
  /**
   * Largest streamed PATCH: unbounded when the transport streams bodies, or sends Blob bodies with
   * progress and the source gives Blob slices (`sendsBlobs`); else `chunkBytes`.
   */
  readonly streamedPatchBytes: number
  /** `partial` in parallel mode; undefined for the one upload of sequential mode. */
  readonly concat: 'partial' | undefined
  /** Identity of this upload, for partition metadata. */
  readonly sessionId: string
  /** The hedge loop, when hedging is on. */
  readonly hedges?: HedgeHooks | undefined
  /** Metadata of a created upload (sequential mode: the user's). */
  metadataFor(p: Partition, attempt: number, deferred: boolean): UploadMetadata
  /**
   * Partitions may be split in flight (parallel mode; every endpoint verifies digests and supports
   * creation-defer-length; `splitting` on): a partition's primary attempts are created with
   * deferred length (hedges never are).
   */
  readonly splitting: boolean
  /** Split decisions (the split loop), when splitting. */
  readonly splits?: { track(run: TrackedRun): void; untrack(run: TrackedRun): void } | undefined
  /**
   * Partition `p` was ended on the server at `at` bytes (its attempt verified against `sha256`, the
   * digest of those bytes): shrink it, cut the rest into new partitions, persist, queue them.
   */
  split(p: Partition, at: number, sha256: string, by: Attempt, why: SplitReason | undefined): Promise<void>
  /** Thresholds of the split decision after a cut. */
  readonly splitThresholds: SplitThresholds
  emit<K extends keyof UploadEventMap>(name: K, event: UploadEventMap[K]): void
  /** `bytes` of `p` starting at `from` were acknowledged for the first time (`p.acked` is already past them). */
  acknowledged(p: Partition, from: number, bytes: Uint8Array): void
  /** Body bytes that went to a socket (`useful`: they advanced a partition's acknowledged offset). */
  sentBytes(bytes: number, useful: number): void
  /** Called before bytes at `from` are sent (sequential mode hashes skipped prefixes here). */
  beforeSend?(p: Partition, from: number): Promise<void>
  /** Persists the resume state; resolves once written. */
  persist(): Promise<void>
  /** Feeds an attempt's outcome to the per-endpoint models, partitioner and concurrency. */
  observe(endpoint: string, outcome: AttemptOutcome): void
  /** Per-request timings for the partitioner. */
  observeRequest(kind: 'rtt' | 'transfer', durationMs: number, bytes: number): void
  /** DELETEs a partial that will not be used (best effort, in the background; never throws). */
  terminate(a: Attempt, url: string): void
  /** Rejects with ABORTED once aborted; resolves at once unless paused. */
  gate(): Promise<void>
  /** Whether an error came from `pause()` (not a failure), after which the attempt just waits. */
  pausedDuring(err: unknown): boolean
  /** Aborted by the user: the error to throw. */
  abortError(): ClientError | undefined
  sleep(ms: number): Promise<void>
}
