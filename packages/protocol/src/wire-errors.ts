/**
 * Codes the gateway sends in the `Tessera-Error-Code` header of every error response, so a client
 * can react without parsing the message. The HTTP status of each is the gateway's business (its
 * one status map); a client matches on the code.
 */
export const WireErrorCode = Object.freeze({
  /** `Tus-Resumable` missing or not 1.0.0 (412). */
  unsupportedVersion: 'TESSERA_ERR_UNSUPPORTED_VERSION',
  /** A tus header is malformed: `Upload-Length`, `Upload-Offset`, `Upload-Metadata`, `Upload-Concat`, `Upload-Checksum` (400). */
  invalidHeader: 'TESSERA_ERR_INVALID_HEADER',
  /** `Upload-Checksum` names an algorithm the server does not support (400). */
  unsupportedChecksum: 'TESSERA_ERR_UNSUPPORTED_CHECKSUM',
  /** PATCH `Upload-Offset` is not the upload's current offset (409). */
  offsetMismatch: 'TESSERA_ERR_OFFSET_MISMATCH',
  /** A concatenation request that cannot be honoured: unfinished or unknown partials, PATCH on a final (400/403). */
  invalidConcat: 'TESSERA_ERR_INVALID_CONCAT',
  /** The operation is forbidden on this upload, e.g. PATCH on a final upload (403). */
  forbidden: 'TESSERA_ERR_FORBIDDEN',
  /** The request has no valid credentials for this route: a missing, expired or badly signed token (401, with `WWW-Authenticate`). */
  unauthorized: 'TESSERA_ERR_UNAUTHORIZED',
  /** The body goes past `Upload-Length`, or the upload is larger than the server's maximum (413). */
  tooLarge: 'TESSERA_ERR_TOO_LARGE',
  /** PATCH without `Content-Type: application/offset+octet-stream` (415). */
  unsupportedMediaType: 'TESSERA_ERR_UNSUPPORTED_MEDIA_TYPE',
  /** No upload with this id (404). */
  notFound: 'TESSERA_ERR_NOT_FOUND',
  /** The upload was terminated or has expired (410). */
  gone: 'TESSERA_ERR_GONE',
  /**
   * Another attempt of the same Tessera partition was verified first: this attempt lost, its bytes
   * were freed, and the client should stop sending it (410, with `Tessera-Winner` naming the winner).
   */
  superseded: 'TESSERA_ERR_SUPERSEDED',
  /** The request body does not match `Upload-Checksum`; none of its bytes were stored (460). */
  checksumMismatch: 'TESSERA_ERR_CHECKSUM_MISMATCH',
  /** A range outside the upload (416). */
  rangeNotSatisfiable: 'TESSERA_ERR_RANGE_NOT_SATISFIABLE',
  /** Another request holds the upload and did not release it in time (423). */
  locked: 'TESSERA_ERR_LOCKED',
  /** The method is not allowed on this resource (405). */
  methodNotAllowed: 'TESSERA_ERR_METHOD_NOT_ALLOWED',
  /** Too many blocks of a stripe are unavailable to serve or store it (503). */
  unavailable: 'TESSERA_ERR_UNAVAILABLE',
  /** The server is shutting down; retry elsewhere or later (503). */
  shuttingDown: 'TESSERA_ERR_SHUTTING_DOWN',
  /** A server-side fault (500). */
  internal: 'TESSERA_ERR_INTERNAL',
  /** The server's `pre-create` hook timed out, was unreachable or failed; nothing was created (500). */
  hookFailed: 'TESSERA_ERR_HOOK_FAILED',
  /** The server's `pre-create` hook refused the upload; the status and body are the hook's (400 unless it chose another). */
  hookRejected: 'TESSERA_ERR_HOOK_REJECTED',
} as const)

export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode]
