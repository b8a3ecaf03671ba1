import type { UploadMetadata } from '@tessera/protocol'

/** What a Tessera partial says about the partition it carries (validated `tessera-*` metadata). */
export interface AttemptInfo {
  /** Partition identity, `<session id>/<partition index>`. */
  readonly partition: string
  /** Byte offset of the partition within the whole file. */
  readonly offset: number
  /** Attempt number the client gave (0 = first; hedges count up). */
  readonly attempt: number
  /** Expected SHA-256 of the partition's bytes, base64; without it the attempt wins unverified. */
  readonly sha256?: string
  /** `tessera-integrity: sha256`: the session's final will ask for a whole-file SHA-256, so winners are hashed in file order as they win. */
  readonly wholeFileSha256?: true
}

/** Why an upload answers 410: terminated (DELETE), expired, rejected (its bytes failed `tessera-sha256`), superseded (another attempt won). */
export type GoneReason = 'terminated' | 'expired' | 'rejected' | 'superseded'

/**
 * What the gateway remembers of a tus upload besides its bytes (those, and so the offset, are the
 * object store's). Kept in a `KvStore` under the upload id.
 */
export interface UploadRecord {
  readonly id: string
  /** Declared length in bytes; `undefined` while deferred (creation-defer-length). */
  readonly length?: number
  readonly metadata: UploadMetadata
  /** ISO time of creation. */
  readonly createdAt: string
  /** ISO time after which an unfinished upload is removed (expiration extension). */
  readonly expiresAt?: string
  /** Concatenation role: a partial, or a final listing its partials' ids in order. */
  readonly concat?: { readonly type: 'partial' } | { readonly type: 'final'; readonly parts: readonly string[] }
  /** Set when the upload is gone: the id then answers 410 Gone. */
  readonly gone?: GoneReason
  /** A Tessera partial: the partition it is an attempt of (docs/reconciliation.md). Kept in the tombstone. */
  readonly attempt?: AttemptInfo
  /** For a superseded attempt: the id of the attempt that won its partition. */
  readonly winner?: string
  /**
   * `sub` of the token that created the upload under `--auth jwt`; only that subject reaches it
   * (others get 404). Absent for uploads created under `--auth none` (docs/auth.md). Kept in the tombstone.
   */
  readonly owner?: string
}
