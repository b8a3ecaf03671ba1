/** Stable codes of {@link FaultProxyError}. See the package README for what to do about each. */
export type FaultProxyErrorCode =
  /** An option (or CLI flag, or config-file field) is missing or out of range; the message names it. */
  | 'FAULT_PROXY_ERR_INVALID_OPTION'
  /** The config file given to the CLI cannot be read or is not JSON. */
  | 'FAULT_PROXY_ERR_CONFIG'
  /** An endpoint could not listen (port in use, no permission, bad host). */
  | 'FAULT_PROXY_ERR_LISTEN'
  /** The proxy was already closed when the call was made. */
  | 'FAULT_PROXY_ERR_CLOSED'

/** The one error class of `@tessera/fault-proxy`. Callers match on `code`. */
export class FaultProxyError extends Error {
  override readonly name = 'FaultProxyError'
  constructor(
    readonly code: FaultProxyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** True when `err` is a {@link FaultProxyError} with one of `codes` (any code when none given). */
export function isFaultProxyError(err: unknown, ...codes: FaultProxyErrorCode[]): err is FaultProxyError {
  return err instanceof FaultProxyError && (codes.length === 0 || codes.includes(err.code))
}
