/**
 * Stable codes of {@link ClientError}. Callers match on `err.code`; messages may change.
 * The README has the table Code | Meaning | What to do.
 */
export type ClientErrorCode =
  /** No byte moved (sent or received) on a request for `stallTimeoutMs`; the request was aborted. Retried. */
  | 'CLIENT_ERR_STALLED'
  /** The server's `Upload-Offset` is not the one the client expected (409, or an answer that skips bytes). Retried after HEAD. */
  | 'CLIENT_ERR_OFFSET_MISMATCH'
  /** The server answered with a status the client cannot recover from (`status` and `wireCode` set). */
  | 'CLIENT_ERR_SERVER_REJECTED'
  /** The endpoint could not be reached: connection refused, DNS failure, connect or headers timeout. */
  | 'CLIENT_ERR_UNREACHABLE'
  /** A connection broke mid-request (reset, closed early). Retried. */
  | 'CLIENT_ERR_NETWORK'
  /** The source ended before its declared size; no final upload was created. */
  | 'CLIENT_ERR_SOURCE_SHORT'
  /** The source changed or is not what it claims (longer than declared, unreadable). */
  | 'CLIENT_ERR_SOURCE'
  /** The server rejected a body's `Upload-Checksum` (460) more times than retries allow. */
  | 'CLIENT_ERR_CHECKSUM_MISMATCH'
  /** The upload was aborted by `abort()` or the caller's signal. The resume state is kept. */
  | 'CLIENT_ERR_ABORTED'
  /** An option is invalid (names the option, the expected and the actual value). */
  | 'CLIENT_ERR_INVALID_OPTION'
  /** The server is not a usable tus 1.0 server (OPTIONS without `Tus-Resumable`, no creation extension, `Tus-Max-Size` too small). */
  | 'CLIENT_ERR_UNSUPPORTED_SERVER'
  /** The resume state could not be read or written. */
  | 'CLIENT_ERR_STATE'
  /**
   * The gateway named a winner (`Tessera-Winner`) for a partition that is not a complete attempt of
   * that partition (HEAD: wrong offset or length, other partition metadata, or gone). Not retried.
   */
  | 'CLIENT_ERR_WINNER_INVALID'
  /**
   * The server refused the credentials (401): with `getToken`, also the fresh token it gave after
   * the first refusal; or `getToken()` failed or gave no usable token. Not retried.
   */
  | 'CLIENT_ERR_UNAUTHORIZED'
  /**
   * A PATCH was refused (401) and `getToken()` gave a fresh token. Retried: the attempt resumes from
   * the server's offset (HEAD), since the refused body is gone.
   */
  | 'CLIENT_ERR_TOKEN_REFRESHED'

/** The one error class of `@tessera/client`. */
export class ClientError extends Error {
  override readonly name = 'ClientError'
  /** HTTP status of the server's answer, for `CLIENT_ERR_SERVER_REJECTED` and retried server errors. */
  readonly status: number | undefined
  /** The gateway's `Tessera-Error-Code` of that answer, when it sent one. */
  readonly wireCode: string | undefined
  /** On a 410 `TESSERA_ERR_SUPERSEDED`: the gateway's `Tessera-Winner`, the path of the attempt that won. */
  readonly winner: string | undefined

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options: { cause?: unknown; status?: number; wireCode?: string; winner?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = options.status
    this.wireCode = options.wireCode
    this.winner = options.winner
  }
}

/** Codes whose failure of one attempt may be retried on the same partition. */
const RETRIABLE: ReadonlySet<ClientErrorCode> = new Set<ClientErrorCode>([
  'CLIENT_ERR_STALLED',
  'CLIENT_ERR_OFFSET_MISMATCH',
  'CLIENT_ERR_NETWORK',
  'CLIENT_ERR_UNREACHABLE',
  'CLIENT_ERR_CHECKSUM_MISMATCH',
  'CLIENT_ERR_TOKEN_REFRESHED',
])

/** Whether an attempt that failed with `err` may be retried (server 5xx, 409, 423, 460, network, stall). */
export function isRetriable(err: unknown): boolean {
  if (!(err instanceof ClientError)) return false
  if (RETRIABLE.has(err.code)) return true
  if (err.code === 'CLIENT_ERR_SERVER_REJECTED' && err.status !== undefined) {
    return err.status >= 500 || err.status === 408 || err.status === 409 || err.status === 423 || err.status === 429 || err.status === 460
  }
  return false
}
