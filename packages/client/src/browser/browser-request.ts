// What the browser transports (fetch-transport.ts, xhr-transport.ts) do alike: the body as one Blob,
// the headers a page may set, and the ClientError a failed request becomes.
import { ClientError } from '../errors.js'
import type { HttpRequest } from '../ports.js'

/** Response body text kept, characters (tus bodies are error messages). */
export const MAX_ERROR_BODY = 4096

/**
 * The request's body as one Blob: the source's own slice (`HttpRequest.blob`, read from disk by the
 * browser as it sends) where there is one, else gathered from the body's pieces; undefined without a body.
 */
export async function requestBody(req: HttpRequest): Promise<Blob | undefined> {
  if (req.blob) return req.blob
  const body = req.body
  if (body === undefined) return undefined
  if (body instanceof Uint8Array) return new Blob([body as Uint8Array<ArrayBuffer>])
  const parts: Uint8Array<ArrayBuffer>[] = []
  for await (const piece of body) parts.push(piece as Uint8Array<ArrayBuffer>)
  return new Blob(parts)
}

/** The request's headers without `content-length`, a forbidden header in browsers (the Blob sets it). */
export function sendableHeaders(req: HttpRequest): Record<string, string> {
  const headers = { ...req.headers }
  delete headers['content-length']
  return headers
}

/**
 * The error a failed request throws: `CLIENT_ERR_STALLED` when its timer fired, the signal's reason
 * or `CLIENT_ERR_ABORTED` when it was aborted, a {@link ClientError} as is; otherwise the
 * connection failed — `CLIENT_ERR_NETWORK` once the request `reached` the server (as far as the
 * browser lets one know), `CLIENT_ERR_UNREACHABLE` before.
 */
export function requestFailure(req: HttpRequest, err: unknown, how: { readonly stalled: boolean; readonly reached: boolean }): ClientError {
  if (how.stalled) return stallError(req, err)
  if (req.signal?.aborted) return aborted(req, err)
  if (err instanceof ClientError) return err
  const message = (err as Error).message
  if (!how.reached) return new ClientError('CLIENT_ERR_UNREACHABLE', `${req.method} ${req.url}: cannot reach ${new URL(req.url).origin} (${message})`, { cause: err })
  return new ClientError('CLIENT_ERR_NETWORK', `${req.method} ${req.url}: ${message}`, { cause: err })
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
