/** Stable codes of {@link StorageError}. See the package README for what to do about each. */
export type StorageErrorCode =
  /** No block (or object) under that key. */
  | 'STORAGE_ERR_NOT_FOUND'
  /** A key outside the allowed alphabet, or with a path trick (`..`, leading `/`). */
  | 'STORAGE_ERR_INVALID_KEY'
  /** The caller's `AbortSignal` fired. */
  | 'STORAGE_ERR_ABORTED'
  /** The operation did not finish within its deadline. */
  | 'STORAGE_ERR_TIMEOUT'
  /** The backend cannot be reached or has gone away. */
  | 'STORAGE_ERR_UNAVAILABLE'
  /** An I/O error from the medium (disk full, permission, EIO). */
  | 'STORAGE_ERR_IO'
  /** Bytes read back do not match their checksum. */
  | 'STORAGE_ERR_CORRUPT'
  /** Fewer healthy blocks of a stripe than its data block count: the bytes cannot be rebuilt. */
  | 'STORAGE_ERR_UNRECOVERABLE'
  /** Fewer backends accepted a stripe than its write quorum. */
  | 'STORAGE_ERR_WRITE_QUORUM'
  /** A manifest changed under a conditional update (optimistic concurrency). */
  | 'STORAGE_ERR_CONFLICT'
  /** Invalid options or arguments (names the option, the expected and the actual value). */
  | 'STORAGE_ERR_INVALID_ARGUMENT'
  /** The medium refused the credentials or the operation (S3 `AccessDenied`, bad or expired keys, none found). */
  | 'STORAGE_ERR_ACCESS_DENIED'

/** The one error class of `@tessera/storage`. Callers match on `code`. */
export class StorageError extends Error {
  override readonly name = 'StorageError'
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** True when `err` is a {@link StorageError} with one of `codes` (any code when none given). */
export function isStorageError(err: unknown, ...codes: StorageErrorCode[]): err is StorageError {
  return err instanceof StorageError && (codes.length === 0 || codes.includes(err.code))
}
