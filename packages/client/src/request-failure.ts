// What every transport (node/node-http-transport.ts, browser/fetch-transport.ts,
// browser/xhr-transport.ts) turns a failed request into, and how much of an answer's body it keeps.
import { ClientError } from './errors.js'
import type { HttpRequest } from './ports.js'

/** Response body text kept, characters (tus bodies are error messages). */
export const MAX_ERROR_BODY = 4096

/**
 * The error a failed request throws: `CLIENT_ERR_STALLED` when its timer fired, the signal's reason
 * or `CLIENT_ERR_ABORTED` when it was aborted, a {@link ClientError} as is; otherwise the
 * connection failed — `CLIENT_ERR_NETWORK` once the request `reached` the server (as far as the
 * transport can tell), `CLIENT_ERR_UNREACHABLE` before. The message names `err`'s string `code`
 * (Node's `ECONNRESET`…) where it has one, else its message.
 */
export function requestFailure(req: HttpRequest, err: unknown, how: { readonly stalled: boolean; readonly reached: boolean }): ClientError {
  if (how.stalled) return stallError(req, err)
  if (req.signal?.aborted) return aborted(req, err)
  if (err instanceof ClientError) return err
  const code = (err as { code?: unknown }).code
  const detail = typeof code === 'string' ? code : (err as Error).message
  if (!how.reached) return new ClientError('CLIENT_ERR_UNREACHABLE', `${req.method} ${req.url}: cannot reach ${new URL(req.url).origin} (${detail})`, { cause: err })
  return new ClientError('CLIENT_ERR_NETWORK', `${req.method} ${req.url}: ${detail}`, { cause: err })
}

/** `CLIENT_ERR_STALLED`: no progress for the request's `stallTimeoutMs`. */
export function stallError(req: HttpRequest, cause?: unknown): ClientError {
  return new ClientError('CLIENT_ERR_STALLED', `${req.method} ${req.url}: no progress for ${req.stallTimeoutMs} ms`, cause === undefined ? {} : { cause })
}

/** The aborted signal's reason when it is a {@link ClientError}, else `CLIENT_ERR_ABORTED`. */
export function aborted(req: HttpRequest, cause?: unknown): ClientError {
  const reason = req.signal?.reason
  if (reason instanceof ClientError) return reason
  return new ClientError('CLIENT_ERR_ABORTED', `${req.method} ${req.url}: aborted`, cause === undefined ? {} : { cause })
}
