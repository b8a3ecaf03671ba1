import { appendFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Logger } from '@tessera/storage'

/** What happened to an attempt or a final (docs/reconciliation.md § Event log). */
export type ReconciliationEventType =
  | 'attempt-created'
  | 'attempt-won'
  | 'attempt-lost'
  | 'attempt-rejected'
  | 'attempt-terminated'
  | 'attempt-expired'
  | 'final-verified'
  | 'final-rejected'
  | 'final-created'

/** One line of the event log. `time` is added by the log. */
export interface ReconciliationEvent {
  readonly event: ReconciliationEventType
  /** The attempt's (or the final's) upload id. */
  readonly uploadId: string
  /** Partition identity `<session>/<index>` (attempt events). */
  readonly partition?: string
  /** Attempt number the client gave (attempt events). */
  readonly attempt?: number
  /** Byte offset of the partition in the file (attempt events). */
  readonly offset?: number
  /**
   * Bytes the event concerns: for `attempt-won` the partition's length; for `lost`, `rejected`,
   * `terminated` and `expired` the bytes the attempt had stored, now freed (hedging's cost); for
   * finals the file's length.
   */
  readonly bytes: number
  /** The winner's upload id (`attempt-lost`). */
  readonly winner?: string
  /** Final: the partials it was assembled from, after resolving attempts to winners. */
  readonly parts?: readonly string[]
  /** Final: how long the whole-file SHA-256 took, ms (the wait for the running digest, or the full read). */
  readonly verifyMs?: number
  /** Final: true when the file was read back to hash it, false when the session's running digest (kept as partitions won) covered it. */
  readonly verifyRead?: boolean
  /** Free text for an operator. */
  readonly reason?: string
}

/** Where reconciliation events go. */
export interface EventSink {
  append(event: ReconciliationEvent): Promise<void>
  /** Calls `listener` with every event appended from now on (the metrics count them); resolves a function that stops it. */
  subscribe(listener: (event: ReconciliationEvent) => void): () => void
}

/**
 * Appends each event as one JSON line to a file (`O_APPEND`, one `write` per line, in order). A
 * failing write is logged at warn and never fails the request that caused the event: the log is
 * for analysis, the KV state is the truth. A crash may lose the lines of events in flight.
 */
export class JsonlEventLog implements EventSink {
  #tail: Promise<void> = Promise.resolve()
  readonly #listeners = new Set<(event: ReconciliationEvent) => void>()

  private constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Creates the file's directory when needed. */
  static async open(path: string, log: Logger, now: () => number = Date.now): Promise<JsonlEventLog> {
    await mkdir(dirname(path), { recursive: true })
    return new JsonlEventLog(path, log, now)
  }

  subscribe(listener: (event: ReconciliationEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  append(event: ReconciliationEvent): Promise<void> {
    for (const listener of this.#listeners) listener(event)
    const line = `${JSON.stringify({ time: new Date(this.now()).toISOString(), ...event })}\n`
    this.#tail = this.#tail.then(() =>
      appendFile(this.path, line).catch((err: unknown) => this.log.warn({ err, path: this.path }, 'reconciliation event not logged')),
    )
    return this.#tail
  }
}
