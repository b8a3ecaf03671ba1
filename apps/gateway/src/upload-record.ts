import type { UploadMetadata } from '@tessera/protocol'

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
  /** Set when terminated or expired: the id then answers 410 Gone. */
  readonly gone?: 'terminated' | 'expired'
}
