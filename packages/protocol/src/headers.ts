/** The tus protocol version spoken by both sides. */
export const TUS_VERSION = '1.0.0'

/** Header names of tus 1.0 and its extensions, lower-case as Node presents them. */
export const TusHeader = Object.freeze({
  resumable: 'tus-resumable',
  version: 'tus-version',
  extension: 'tus-extension',
  maxSize: 'tus-max-size',
  checksumAlgorithm: 'tus-checksum-algorithm',
  uploadOffset: 'upload-offset',
  uploadLength: 'upload-length',
  uploadDeferLength: 'upload-defer-length',
  uploadMetadata: 'upload-metadata',
  uploadConcat: 'upload-concat',
  uploadChecksum: 'upload-checksum',
  uploadExpires: 'upload-expires',
  location: 'location',
} as const)

/** Header carrying a Tessera wire error code (see {@link WireErrorCode}) on every error response. */
export const TESSERA_ERROR_HEADER = 'tessera-error-code'

/**
 * Header naming the winning attempt (a path-absolute upload URL, e.g. `/files/<id>`) on the 410
 * `TESSERA_ERR_SUPERSEDED` answer to a request on a losing attempt of the same partition.
 */
export const TESSERA_WINNER_HEADER = 'tessera-winner'

/**
 * OPTIONS header by which a server says it reconciles Tessera attempts: its value lists the digests
 * it verifies, comma-separated: `sha256` — an attempt carrying `tessera-sha256` is hashed as its bytes
 * arrive and checked when it completes (a mismatch answers 460 and discards the attempt) — and
 * `partitions` — a final carrying `tessera-partitions-sha256` is checked against the digests of the
 * attempts it concatenates (see `partitionListBytes`) — and `length-trailer` — a PATCH with a
 * chunked body may send `Upload-Length` and `Tessera-Sha256` as trailers (announced in `Trailer`),
 * which the server applies after the body as if an empty length-declaring PATCH followed it. A client
 * that sees `sha256` may leave `Upload-Checksum` off such an attempt's PATCHes: its partition digest
 * already covers every byte, once, instead of a second hash per PATCH on both sides.
 */
export const TESSERA_RECONCILIATION_HEADER = 'tessera-reconciliation'

/** The digests and mechanisms a Tessera gateway lists in {@link TESSERA_RECONCILIATION_HEADER}. */
export const TesseraReconciliation = { sha256: 'sha256', partitions: 'partitions', lengthTrailer: 'length-trailer' } as const

/**
 * Request header of a PATCH that declares the length of a deferred-length Tessera attempt
 * (`Upload-Length` on the PATCH, creation-defer-length): base64 of the SHA-256 of the attempt's full
 * bytes (all `Upload-Length` of them). It stands in for `tessera-sha256` in the creation metadata,
 * which a client cannot know when the attempt's length is not fixed yet (a partition that may be
 * split at its acknowledged offset). The server saves it with the length and verifies the attempt
 * against it at its last byte exactly as it does `tessera-sha256` (460 on mismatch); malformed, on a
 * PATCH without `Upload-Length`, or contradicting a digest the attempt already has → 400. Also a
 * trailer, together with an `Upload-Length` trailer (`length-trailer`, above).
 */
export const TESSERA_SHA256_HEADER = 'tessera-sha256'

/**
 * Request header naming a client's read session (any token, ≤ 200 characters): the gateway's
 * prefetcher learns what a session reads after what (docs/read-path.md); without it, the client's
 * address is the session.
 */
export const TESSERA_READ_SESSION_HEADER = 'tessera-read-session'

/** The tus extensions, by their protocol names. */
export type TusExtension =
  | 'creation'
  | 'creation-with-upload'
  | 'creation-defer-length'
  | 'termination'
  | 'expiration'
  | 'checksum'
  | 'concatenation'

/** The only `Content-Type` a PATCH may carry. */
export const PATCH_CONTENT_TYPE = 'application/offset+octet-stream'

/** Non-standard status the checksum extension uses for a body whose checksum does not match. */
export const STATUS_CHECKSUM_MISMATCH = 460
