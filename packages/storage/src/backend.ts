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

/**
 * A segment being written: one stored object that many blocks are packed into by positional
 * writes, so a store pays one object creation per segment instead of one per block.
 */
export interface SegmentWriter {
  /**
   * Writes `bytes` at `offset`. Writes to disjoint ranges may run concurrently. Once it resolves,
   * `readRange` of that range returns these bytes, and they survive a crash of this process.
   */
  write(offset: number, bytes: Uint8Array, options?: BackendCallOptions): Promise<void>
  /** Releases the segment's resources; what was written stays. Idempotent. */
  close(): Promise<void>
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
  /**
   * Optional capability (with `readRange`): creates the segment `key`, which must not exist
   * (`STORAGE_ERR_CONFLICT`). Unlike `put`, a segment is visible while it is written: callers
   * only reference ranges whose write resolved. It is listed, stat'ed and deleted like a block.
   */
  createSegment?(key: string, options?: BackendCallOptions): Promise<SegmentWriter>
  /**
   * Optional capability (with `createSegment`): `length` bytes at `offset` of a block or segment;
   * fewer when it ends before. `STORAGE_ERR_NOT_FOUND` when absent.
   */
  readRange?(key: string, offset: number, length: number, options?: BackendCallOptions): Promise<Uint8Array>
}

/** A backend that packs blocks into segments (see {@link Backend.createSegment}). */
export type SegmentBackend = Backend & Required<Pick<Backend, 'createSegment' | 'readRange'>>

/** Whether a backend packs blocks into segments. */
export function supportsSegments(backend: Backend): backend is SegmentBackend {
  return typeof backend.createSegment === 'function' && typeof backend.readRange === 'function'
}

/** The grammar of block keys (see {@link Backend}). */
export const BLOCK_KEY_PATTERN = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/
