import type { ClientErrorCode } from './errors.js'
import type { PartitionSizing } from './partitioner.js'

/** `progress`: bytes acknowledged by the server so far. */
export interface ProgressEvent {
  /** Bytes the server acknowledged (counted once per partition, also those acked in an earlier run). */
  readonly bytesAcked: number
  /** Size of the upload, or undefined while a stream's length is unknown. */
  readonly bytesTotal: number | undefined
  /** Acknowledgement rate of this run, bytes/s (EWMA over ~1 s). */
  readonly rateBps: number
}

/** `partition`: a partition was cut (or replayed from resume state). */
export interface PartitionEvent {
  readonly index: number
  /** Offset in the source, bytes. */
  readonly offset: number
  readonly length: number
  /** `new`: sized now; `resumed`: taken from the resume state; `split`: cut from the rest of a split partition. */
  readonly origin: 'new' | 'resumed' | 'split'
  /** Why this size (undefined for resumed partitions). */
  readonly sizing: PartitionSizing | undefined
  /** Partitions allowed in flight when it was cut. */
  readonly concurrency: number
}

/** Identity of one attempt at a partition. */
export interface AttemptRef {
  readonly partition: number
  /** Attempt number of this partition in this run, from 0. */
  readonly attempt: number
  readonly endpoint: string
}

/** `attempt-start`: an attempt begins at `offset` within the partition (after HEAD on a retry). */
export interface AttemptStartEvent extends AttemptRef {
  readonly offset: number
  readonly length: number
  /** Partial upload URL (undefined until created). */
  readonly url: string | undefined
}

/** `attempt-done`: the partition is complete on the server. */
export interface AttemptDoneEvent extends AttemptRef {
  readonly url: string
  /** Bytes this attempt sent and had acknowledged. */
  readonly bytesSent: number
  readonly durationMs: number
  readonly rateBps: number
}

/** `attempt-failed`: an attempt ended in an error. */
export interface AttemptFailedEvent extends AttemptRef {
  readonly code: ClientErrorCode
  readonly status: number | undefined
  readonly message: string
  /**
   * Whether the partition will be retried, after `retryInMs`. False also when another attempt of
   * the partition (a hedge) is still running and carries on (`siblings` > 0).
   */
  readonly willRetry: boolean
  readonly retryInMs: number | undefined
  /** Other attempts of the partition still running (hedges), which carry it on without a retry. */
  readonly siblings: number
}

/** `hedge-start`: a second attempt of a partition starts before the first is declared failed. */
export interface HedgeStartEvent {
  readonly partition: number
  /** Attempt number of the hedge (the attempt it hedges has a lower one). */
  readonly attempt: number
  /** Attempt number being hedged. */
  readonly hedged: number
  readonly fromEndpoint: string
  readonly toEndpoint: string
  /** Predicted P(the hedged attempt fails or misses its deadline) that triggered the hedge. */
  readonly risk: number
  /** Its parts: P(connection already dead), P(a live attempt misses its deadline). */
  readonly dead: number
  readonly miss: number
  /** The hedged attempt's deadline (from its start), ms. */
  readonly deadlineMs: number
  /**
   * Hedged as a laggard: it ran far longer than the upload's partitions that finished beside it
   * (docs/client.md, "Hedging"), whatever `risk` says.
   */
  readonly laggard: boolean
  /** Hedge budget of the upload and what is committed to hedges including this one, bytes. */
  readonly budgetBytes: number
  readonly committedBytes: number
}

/** `attempt-won`: the first attempt of a partition to complete with every PATCH verified; it goes into the final. */
export interface AttemptWonEvent extends AttemptRef {
  readonly url: string
  /** Whether the winner was a hedge. */
  readonly hedge: boolean
  /** Other attempts of the partition aborted because this one won. */
  readonly losers: number
}

/**
 * `winner-adopted`: the gateway named a winner of the partition (`Tessera-Winner`) that this run
 * was not running; a HEAD showed it complete and of this partition, so it is the partition's
 * winner (an `attempt-won` follows). `attempt` is the number given to it in this run.
 */
export interface WinnerAdoptedEvent extends AttemptRef {
  /** The winner's URL (as named, resolved against the request that was told). */
  readonly url: string
  /** The attempt whose request the gateway answered with the winner. */
  readonly namedBy: number
  /** The partition's length, complete on the winner, bytes. */
  readonly bytes: number
}

/** `attempt-lost`: an attempt was aborted (or finished too late) because another one of its partition won. */
export interface AttemptLostEvent extends AttemptRef {
  /** Its partial upload's URL (undefined if its POST had not answered). */
  readonly url: string | undefined
  readonly winner: number
  readonly hedge: boolean
  /** Body bytes this attempt sent. */
  readonly bytesSent: number
  /** The server acknowledged the whole partition on this attempt too (it finished after the winner). */
  readonly completed: boolean
  /** Counted as a failure of its endpoint (it was silent long enough to be judged dead), else censored. */
  readonly judgedDead: boolean
}

/** `attempt-terminated`: the tus DELETE of a lost or abandoned attempt's partial settled (best effort). */
export interface AttemptTerminatedEvent extends AttemptRef {
  readonly url: string
  /** `deleted` (204), `gone` (already 404/410), `failed` (an error; the gateway's expiry will reclaim it). */
  readonly result: 'deleted' | 'gone' | 'failed'
  readonly code: ClientErrorCode | undefined
}

/** `done`: the upload finished; what hedging cost and won. */
export interface DoneEvent {
  readonly url: string
  readonly size: number
  /** Hedges started, and how many of them won their partition. */
  readonly hedgesStarted: number
  readonly hedgesWon: number
  /** Body bytes sent by hedges, bytes (≤ `hedgeBudgetBytes`). */
  readonly hedgeBytes: number
  readonly hedgeBudgetBytes: number
  /** Body bytes sent in this run, and those that did not advance any partition (lost attempts, re-sends), bytes. */
  readonly bytesSent: number
  readonly extraBytes: number
  /** extraBytes / size (0 for an empty upload). */
  readonly extraRatio: number
  /** Partials DELETEd (or found gone) / whose DELETE failed. */
  readonly terminated: number
  readonly terminateFailed: number
}

/** `stall`: a request moved no byte for `stallTimeoutMs` and was aborted. */
export interface StallEvent extends AttemptRef {
  readonly stallTimeoutMs: number
  /** Offset within the partition that the server had acknowledged before the stall. */
  readonly offset: number
  /**
   * `timeout`: no progress for `stallTimeoutMs`. `model`: the hedge loop judged the attempt dead
   * (P(dead) ≥ 0.999 after `silentMs` of silence) and no hedge covered it, long before the timeout.
   */
  readonly by: 'timeout' | 'model'
  readonly dead?: number
  readonly silentMs?: number
}

/** `resume`: state of an earlier run was found and will be continued. */
export interface ResumeEvent {
  readonly key: string
  /** Partitions already complete on the server; they are not sent again. */
  readonly partitionsDone: number
  /** Partitions started earlier, resumed from the server's offset. */
  readonly partitionsStarted: number
}

/** `concurrency`: the adaptive concurrency changed. */
export interface ConcurrencyEvent {
  readonly from: number
  readonly to: number
  readonly reason: 'throughput' | 'failure'
}

/** `capabilities`: what an endpoint's OPTIONS answered, and the mode chosen. */
export interface CapabilitiesEvent {
  readonly endpoint: string
  readonly extensions: readonly string[]
  readonly checksumAlgorithms: readonly string[]
  readonly maxSize: number | undefined
  /** `parallel`: partials + final concatenation; `sequential`: one plain tus upload. */
  readonly mode: 'parallel' | 'sequential'
}

/**
 * `endpoint-skipped`: an endpoint failed its first OPTIONS (refused, stalled, 5xx, not a usable tus
 * server) or had not answered within the grace after the first endpoint answered, while another
 * endpoint answered: it takes no part in this upload (no retry; a later upload asks it again).
 */
export interface EndpointSkippedEvent {
  readonly endpoint: string
  readonly code: ClientErrorCode
  readonly status: number | undefined
  readonly message: string
}

/**
 * `partition-split`: an in-flight partition was ended at `at` (bytes acknowledged within it; the
 * partial now has that length and was verified against the digest of those bytes) and the rest
 * of it became `newPartitions`, queued with the next free indices, in file order.
 */
export interface PartitionSplitEvent {
  readonly partition: number
  /** The partition's new length: where it was cut, bytes from its start. */
  readonly at: number
  /** The partition's offset in the source and its length before the split, bytes. */
  readonly offset: number
  readonly lengthBefore: number
  /** The endpoint of the attempt that was cut. */
  readonly endpoint: string
  /** Why: the attempt's recent rate and the time its remaining bytes would take at it. */
  readonly rateBps: number
  readonly remainingMs: number
  readonly newPartitions: readonly { readonly index: number; readonly offset: number; readonly length: number }[]
}

/** Events of an {@link Upload}, by name. */
export interface UploadEventMap {
  progress: ProgressEvent
  partition: PartitionEvent
  'attempt-start': AttemptStartEvent
  'attempt-done': AttemptDoneEvent
  'attempt-failed': AttemptFailedEvent
  'hedge-start': HedgeStartEvent
  'attempt-won': AttemptWonEvent
  'attempt-lost': AttemptLostEvent
  'winner-adopted': WinnerAdoptedEvent
  'attempt-terminated': AttemptTerminatedEvent
  done: DoneEvent
  stall: StallEvent
  resume: ResumeEvent
  concurrency: ConcurrencyEvent
  capabilities: CapabilitiesEvent
  'endpoint-skipped': EndpointSkippedEvent
  'partition-split': PartitionSplitEvent
}

export type UploadEventName = keyof UploadEventMap

/** A minimal typed emitter (no node:events, so it runs in browsers). Listener errors are swallowed. */
export class UploadEmitter {
  readonly #listeners = new Map<UploadEventName, Set<(event: never) => void>>()

  on<K extends UploadEventName>(name: K, listener: (event: UploadEventMap[K]) => void): this {
    let set = this.#listeners.get(name)
    if (!set) this.#listeners.set(name, (set = new Set()))
    set.add(listener as (event: never) => void)
    return this
  }

  off<K extends UploadEventName>(name: K, listener: (event: UploadEventMap[K]) => void): this {
    this.#listeners.get(name)?.delete(listener as (event: never) => void)
    return this
  }

  /** @internal */
  emit<K extends UploadEventName>(name: K, event: UploadEventMap[K]): void {
    for (const listener of this.#listeners.get(name) ?? []) {
      try {
        ;(listener as (event: UploadEventMap[K]) => void)(event)
      } catch {
        // A listener's bug must not break the upload.
      }
    }
  }
}
