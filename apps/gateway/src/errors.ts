/** Stable codes of {@link GatewayError}; each has one HTTP status and wire code in `error-response.ts`. */
export type GatewayErrorCode =
  | 'GATEWAY_ERR_UNSUPPORTED_VERSION'
  | 'GATEWAY_ERR_INVALID_HEADER'
  | 'GATEWAY_ERR_INCONSISTENT_LENGTH'
  | 'GATEWAY_ERR_UPLOAD_COMPLETE'
  | 'GATEWAY_ERR_UNSUPPORTED_CHECKSUM'
  | 'GATEWAY_ERR_OFFSET_MISMATCH'
  | 'GATEWAY_ERR_INVALID_CONCAT'
  | 'GATEWAY_ERR_FORBIDDEN'
  | 'GATEWAY_ERR_TOO_LARGE'
  | 'GATEWAY_ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'GATEWAY_ERR_NOT_FOUND'
  | 'GATEWAY_ERR_GONE'
  | 'GATEWAY_ERR_SUPERSEDED'
  | 'GATEWAY_ERR_CHECKSUM_MISMATCH'
  | 'GATEWAY_ERR_RANGE_NOT_SATISFIABLE'
  | 'GATEWAY_ERR_NOT_FINISHED'
  | 'GATEWAY_ERR_LOCKED'
  | 'GATEWAY_ERR_METHOD_NOT_ALLOWED'
  | 'GATEWAY_ERR_SHUTTING_DOWN'
  | 'GATEWAY_ERR_INVALID_CONFIG'
  | 'GATEWAY_ERR_BACKEND_UNAVAILABLE'
  | 'GATEWAY_ERR_UNAUTHORIZED'
  | 'GATEWAY_ERR_AUTH_UNAVAILABLE'
  | 'GATEWAY_ERR_HOOK_FAILED'
  | 'GATEWAY_ERR_HOOK_REJECTED'

/** The one error class of the gateway. Handlers throw it; `sendError` turns it into a tus response. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError'
  /** Extra response headers of the error answer (e.g. `Tessera-Winner` on a superseded attempt). */
  readonly headers: Readonly<Record<string, string>>
  /** An answer composed elsewhere (a `pre-create` hook's rejection), sent as it is with `headers`: its status replaces the code's. */
  readonly reply: { readonly status: number; readonly body: string } | undefined
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string>; reply?: { status: number; body: string } },
  ) {
    super(message, options)
    this.headers = options?.headers ?? {}
    this.reply = options?.reply
  }
}
