import { timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, Response } from 'express'
import { sendError } from './error-response.js'
import { GatewayError } from './errors.js'
import type { Logger } from '@tessera/storage'

/**
 * Express middleware guarding an operator route (`/metrics`, the dashboard, `/_tessera/*` except the
 * probes): with `token` set, the request must carry `Authorization: Bearer <token>` (what
 * Prometheus' `authorization` scrape config sends), else 401 with `WWW-Authenticate`. Without a
 * token every request passes: the routes are then to be kept off the public network.
 */
export function requireOperatorToken(token: string | undefined, log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (token === undefined || bearerMatches(req.get('authorization'), token)) return next()
    res.set('WWW-Authenticate', 'Bearer realm="tessera-operator"')
    sendError(res, new GatewayError('GATEWAY_ERR_UNAUTHORIZED', `${req.path} needs Authorization: Bearer <operator token>`), log, { method: req.method, url: req.originalUrl })
  }
}

/** Constant-time comparison of `Authorization: Bearer <token>` with the configured token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  if (!match) return false
  const given = Buffer.from(match[1]!)
  const expected = Buffer.from(token)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
