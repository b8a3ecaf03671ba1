// What the browser transports (fetch-transport.ts, xhr-transport.ts) do alike beyond what every
// transport does (../request-failure.ts, ../stall-timer.ts): the body as one Blob, and the headers a
// page may set.
import type { HttpRequest } from '../ports.js'

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
