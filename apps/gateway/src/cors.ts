import { RufhHeader, TESSERA_ERROR_HEADER, TESSERA_READ_SESSION_HEADER, TESSERA_RECONCILIATION_HEADER, TESSERA_SHA256_HEADER, TESSERA_WINNER_HEADER, TusHeader } from '@tessera/protocol'
import type { Logger } from '@tessera/storage'
import type { NextFunction, Request, Response } from 'express'
import type { CorsConfig } from './cors-config.js'
import { sendError } from './error-response.js'
import { GatewayError } from './errors.js'

/** Every header of the wire contract, both directions: all of tus 1.0 and its extensions, the resumable-upload draft's, all of Tessera's. */
const WIRE_HEADERS = [...Object.values(TusHeader), ...Object.values(RufhHeader), TESSERA_ERROR_HEADER, TESSERA_WINNER_HEADER, TESSERA_RECONCILIATION_HEADER, TESSERA_SHA256_HEADER, TESSERA_READ_SESSION_HEADER]

/** `upload-offset` → `Upload-Offset`, as the headers are usually written. */
const canonical = (names: readonly string[]): string => [...new Set(names)].map((n) => n.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase())).join(', ')

/** What a page may send: the wire headers, a bearer token (`--auth jwt`), the method override and `Range` of downloads. */
const ALLOW_HEADERS = canonical([...WIRE_HEADERS, 'authorization', 'content-type', 'x-http-method-override', 'x-requested-with', 'range'])
/** What a page may read: the wire headers, the download headers, and the challenge of a 401. */
const EXPOSE_HEADERS = canonical([...WIRE_HEADERS, 'content-range', 'accept-ranges', 'content-disposition', 'www-authenticate'])
const ALLOW_METHODS = 'POST, GET, HEAD, PATCH, DELETE, OPTIONS'
/** How long a browser may reuse a preflight's answer, s (Chromium caps it at 2 h, Firefox at 24 h). */
const PREFLIGHT_MAX_AGE_S = 86_400

/**
 * CORS for browser clients of the tus routes (operator routes are mounted before it: they never
 * answer CORS). An allowed `Origin` is echoed back (with `Vary: Origin`); with an origin list, its
 * origins may also send credentials. A preflight (`OPTIONS` with `Access-Control-Request-Method`)
 * from an allowed origin is answered here, 204 with the methods, request headers and max age —
 * before authentication, which a preflight never carries; from another origin it answers 403 with
 * no CORS headers, so the browser fails the request at once and the page sees a network error. A
 * request of another origin otherwise proceeds without CORS headers (the browser hides the answer).
 */
export function cors(config: CorsConfig, log: Logger) {
  const allowed = config.origins === '*' ? undefined : new Set(config.origins)
  return (req: Request, res: Response, next: NextFunction): void => {
    res.vary('Origin')
    const origin = req.get('origin')
    if (origin === undefined) return next()
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined
    if (allowed && !allowed.has(origin)) {
      if (!preflight) return next()
      return sendError(res, new GatewayError('GATEWAY_ERR_FORBIDDEN', `origin ${origin} is not one of --cors-origins`), log, { method: req.method, url: req.originalUrl })
    }
    res.set('Access-Control-Allow-Origin', origin)
    if (allowed) res.set('Access-Control-Allow-Credentials', 'true')
    if (!preflight) {
      res.set('Access-Control-Expose-Headers', EXPOSE_HEADERS)
      return next()
    }
    res.set('Access-Control-Allow-Methods', ALLOW_METHODS)
    res.set('Access-Control-Allow-Headers', ALLOW_HEADERS)
    res.set('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S))
    res.status(204).end()
  }
}
