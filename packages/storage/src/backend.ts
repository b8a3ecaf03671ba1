import type { Readable } from 'node:stream'

/** Options every backend operation accepts. */
export interface BackendCallOptions {
  /** Aborts the operation; it then rejects with `STORAGE_ERR_ABORTED` and leaves no partial block. */
  readonly signal?: AbortSignal
}

/** What {@link Backend.stat} reports of a stored block. */
export interface BlockStat {
  /** Size in bytes. */
  readonly bytes: number
  /** Last modification, ms since the epoch. */
  readonly mtimeMs: number
}

/** Space on the medium behind a backend, in bytes; `undefined` when the backend cannot tell. */
export interface BackendCapacity {
  readonly totalBytes: number | undefined
  readonly freeBytes: number | undefined
}

/** Bytes to store: a whole buffer, or a stream of chunks (Node Readable or any async iterable). */
export type BlockBody = Uint8Array | AsyncIterable<Uint8Array>

/**
 * A place that stores blocks under string keys: a directory, an S3 bucket, a fault-injecting
 * wrapper. The port every adapter implements and `describeBackend` checks.
 *
 * Keys match {@link BLOCK_KEY_PATTERN}: segments of `[A-Za-z0-9._-]` separated by `/`, no
 * empty, `.` or `..` segment; anything else rejects with `STORAGE_ERR_INVALID_KEY` before any I/O.
 *
 * Atomicity: a block is never observed half-written. `put` replaces the whole block or, when it
 * fails or is aborted, leaves the previous state (absent or the old bytes) untouched.
 */
export interface Backend {
  /** Stable name of this backend, unique among the backends of one store (used in manifests). */
  readonly id: string
  /** Stores `body` under `key`, replacing any block there. Resolves with the bytes written. */
  put(key: string, body: BlockBody, options?: BackendCallOptions): Promise<{ readonly bytes: number }>
  /** Streams a block. Rejects `STORAGE_ERR_NOT_FOUND` when absent (before the stream starts). */
  get(key: string, options?: BackendCallOptions): Promise<Readable>
  /** Reads a whole block into memory (blocks are bounded in size). `STORAGE_ERR_NOT_FOUND` when absent. */
  read(key: string, options?: BackendCallOptions): Promise<Uint8Array>
  /** Removes a block. Idempotent: deleting an absent key resolves. */
  delete(key: string, options?: BackendCallOptions): Promise<void>
  /** Size and time of a block, or `undefined` when absent. */
  stat(key: string, options?: BackendCallOptions): Promise<BlockStat | undefined>
  /** Keys that start with `prefix`, in no particular order. */
  list(prefix: string, options?: BackendCallOptions): AsyncIterable<string>
  /** Space used and free on the medium. */
  capacity(options?: BackendCallOptions): Promise<BackendCapacity>
}

/** The grammar of block keys (see {@link Backend}). */
export const BLOCK_KEY_PATTERN = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/
