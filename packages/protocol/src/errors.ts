/** Stable codes of {@link ProtocolError}. */
export type ProtocolErrorCode =
  | 'PROTOCOL_ERR_INVALID_METADATA'
  | 'PROTOCOL_ERR_INVALID_INTEGER'
  | 'PROTOCOL_ERR_INVALID_CHECKSUM'
  | 'PROTOCOL_ERR_UNSUPPORTED_CHECKSUM'
  | 'PROTOCOL_ERR_INVALID_CONCAT'
  | 'PROTOCOL_ERR_INVALID_PARTITIONS'
  | 'PROTOCOL_ERR_INVALID_FIELD'
  | 'PROTOCOL_ERR_UNSUPPORTED_INTEROP_VERSION'

/** A header value that does not follow the tus 1.0 grammar. Callers match on `code`. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
