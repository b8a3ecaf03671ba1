import { isClusterError } from '@tessera/cluster'
import { STATUS_CHECKSUM_MISMATCH, TESSERA_ERROR_HEADER, TUS_VERSION, WireErrorCode } from '@tessera/protocol'
import { isStorageError, type Logger } from '@tessera/storage'
import type { Response } from 'express'
import { GatewayError, type GatewayErrorCode } from './errors.js'

/** The one map from gateway error codes to HTTP status and wire code. */
const STATUS: Record<GatewayErrorCode, readonly [number, WireErrorCode]> = {
  GATEWAY_ERR_UNSUPPORTED_VERSION: [412, WireErrorCode.unsupportedVersion],
  GATEWAY_ERR_INVALID_HEADER: [400, WireErrorCode.invalidHeader],
  GATEWAY_ERR_INCONSISTENT_LENGTH: [400, WireErrorCode.invalidHeader],
  GATEWAY_ERR_UPLOAD_COMPLETE: [400, WireErrorCode.invalidHeader],
  GATEWAY_ERR_UNSUPPORTED_CHECKSUM: [400, WireErrorCode.unsupportedChecksum],
  GATEWAY_ERR_OFFSET_MISMATCH: [409, WireErrorCode.offsetMismatch],
  GATEWAY_ERR_INVALID_CONCAT: [400, WireErrorCode.invalidConcat],
  GATEWAY_ERR_FORBIDDEN: [403, WireErrorCode.forbidden],
  GATEWAY_ERR_TOO_LARGE: [413, WireErrorCode.tooLarge],
  GATEWAY_ERR_UNSUPPORTED_MEDIA_TYPE: [415, WireErrorCode.unsupportedMediaType],
  GATEWAY_ERR_NOT_FOUND: [404, WireErrorCode.notFound],
  GATEWAY_ERR_GONE: [410, WireErrorCode.gone],
  GATEWAY_ERR_SUPERSEDED: [410, WireErrorCode.superseded],
  GATEWAY_ERR_CHECKSUM_MISMATCH: [STATUS_CHECKSUM_MISMATCH, WireErrorCode.checksumMismatch],
  GATEWAY_ERR_RANGE_NOT_SATISFIABLE: [416, WireErrorCode.rangeNotSatisfiable],
  GATEWAY_ERR_NOT_FINISHED: [409, WireErrorCode.forbidden],
  GATEWAY_ERR_LOCKED: [423, WireErrorCode.locked],
  GATEWAY_ERR_METHOD_NOT_ALLOWED: [405, WireErrorCode.methodNotAllowed],
  GATEWAY_ERR_SHUTTING_DOWN: [503, WireErrorCode.shuttingDown],
  GATEWAY_ERR_INVALID_CONFIG: [500, WireErrorCode.internal],
  // Raised at startup (a backend that cannot be opened); a request never meets it, but if one did, the storage is what failed.
  GATEWAY_ERR_BACKEND_UNAVAILABLE: [503, WireErrorCode.unavailable],
  // An operator endpoint without its bearer token; the wire has no unauthorized code (tus defines none).
  GATEWAY_ERR_UNAUTHORIZED: [401, WireErrorCode.unauthorized],
  // --auth jwt with --jwks-url: the key set could not be fetched, so no token can be checked now; the request was fine.
  GATEWAY_ERR_AUTH_UNAVAILABLE: [503, WireErrorCode.unavailable],
  // A pre-create hook timed out, was unreachable or answered non-2xx: nothing was created (docs/hooks.md).
  GATEWAY_ERR_HOOK_FAILED: [500, WireErrorCode.hookFailed],
  // A pre-create hook refused the upload; its own status (400 unless it named one) and body are sent.
  GATEWAY_ERR_HOOK_REJECTED: [400, WireErrorCode.hookRejected],
}

/** Status and wire code of any error a handler let escape. */
function classify(err: unknown): { status: number; wire: WireErrorCode; message: string } {
  if (err instanceof GatewayError) {
    const [status, wire] = STATUS[err.code]
    return { status: err.reply?.status ?? status, wire, message: err.message }
  }
  // Scale-out (docs/scale-out.md): the cluster's Redis is down or slow — the request was fine, retry.
  if (isClusterError(err, 'CLUSTER_ERR_UNAVAILABLE')) {
    return { status: 503, wire: WireErrorCode.unavailable, message: `cluster state unavailable: ${err.message}` }
  }
  if (isClusterError(err, 'CLUSTER_ERR_CLOSED')) {
    return { status: 503, wire: WireErrorCode.shuttingDown, message: 'the gateway is shutting down; retry shortly' }
  }
  // Another gateway took the upload's lock (this one lost its lease): what this request committed
  // before stays; the client finds the offset with HEAD and resumes wherever it likes. 423 as for a
  // lock not released in time — the upload is held elsewhere — not 409, which tus gives to
  // `Upload-Offset` mismatches. The manifest store reports a fenced commit as a conflict.
  if (isFenced(err)) {
    return { status: 423, wire: WireErrorCode.locked, message: `the upload was taken over by another request holding its lock (on another gateway); HEAD and resume: ${err instanceof Error ? err.message : String(err)}` }
  }
  // ACCESS_DENIED too: a bucket policy or expired credentials are the operator's to fix, and the
  // client's request was fine — retrying later is the right advice, like for an outage.
  if (isStorageError(err, 'STORAGE_ERR_UNRECOVERABLE', 'STORAGE_ERR_WRITE_QUORUM', 'STORAGE_ERR_UNAVAILABLE', 'STORAGE_ERR_TIMEOUT', 'STORAGE_ERR_ACCESS_DENIED')) {
    return { status: 503, wire: WireErrorCode.unavailable, message: `storage unavailable: ${err.message}` }
  }
  return { status: 500, wire: WireErrorCode.internal, message: 'internal error' }
}

/** A write refused because this gateway's lock on the upload is no longer the current one. */
function isFenced(err: unknown): boolean {
  if (isClusterError(err, 'CLUSTER_ERR_FENCED', 'CLUSTER_ERR_LOCK_LOST')) return true
  return isStorageError(err, 'STORAGE_ERR_CONFLICT') && isClusterError(err.cause, 'CLUSTER_ERR_FENCED', 'CLUSTER_ERR_LOCK_LOST')
}

/**
 * Answers a failed request: the status, `Tessera-Error-Code`, and a plain-text body that says what
 * was wrong. 5xx are logged at error (a broken invariant or a failing backend), 4xx at info.
 */
export function sendError(res: Response, err: unknown, log: Logger, context: object): void {
  const { status, wire, message } = classify(err)
  if (status >= 500) log.error({ ...context, err, status, code: wire }, 'request failed')
  else log.info({ ...context, status, code: wire, reason: message }, 'request rejected')
  if (res.headersSent) {
    res.destroy()
    return
  }
  afterUnreadBody(res, () => {
    res.status(status)
    res.set('Tus-Resumable', TUS_VERSION)
    res.set(TESSERA_ERROR_HEADER, wire)
    if (err instanceof GatewayError) res.set(err.headers)
    if (err instanceof GatewayError && err.reply) {
      if (!res.get('content-type')) res.type('text/plain')
      res.send(err.reply.body)
      return
    }
    res.type('text/plain').send(`${message}\n`)
  })
}

/** A request body at most this large, left unread by an error, is read and dropped before the answer goes out, bytes. */
const DRAIN_BYTES = 1024 * 1024
/** How long the answer waits for it, ms; then it goes out anyway, with `Connection: close`. */
const DRAIN_MS = 1000

/**
 * Sends an error answer (`send`) once the request's unread body is out of the way. A small one
 * (`Content-Length` ≤ {@link DRAIN_BYTES}) is read and dropped first, for up to {@link DRAIN_MS}:
 * answering and closing while the client still sends makes the close a reset, and a reset lets
 * the client's kernel drop the answer unread — a PATCH refused for an expired token surfaced as
 * CLIENT_ERR_NETWORK instead of its 401 (once in a CI run). A larger or chunked one, or one still
 * coming after the wait, is answered at once with `Connection: close` (an unread body would
 * otherwise block the connection or be drained whole before it could be reused).
 */
function afterUnreadBody(res: Response, send: () => void): void {
  const req = res.req
  if (req.complete) return send()
  const length = Number(req.get('content-length'))
  if (!(length <= DRAIN_BYTES)) {
    res.set('Connection', 'close')
    return send()
  }
  let sent = false
  const go = (): void => {
    if (sent) return
    sent = true
    clearTimeout(timer)
    if (!req.complete) res.set('Connection', 'close')
    send()
  }
  const timer = setTimeout(go, DRAIN_MS)
  req.once('end', go)
  req.once('close', go)
  req.resume()
}
