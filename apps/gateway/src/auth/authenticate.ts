import type { Logger } from '@tessera/storage'
import type { NextFunction, Request, Response } from 'express'
import { sendError } from '../error-response.js'
import { GatewayError } from '../errors.js'
import type { AuthConfig } from './auth-config.js'
import { invalidToken, JwtVerifier } from './jwt-verifier.js'
import { ANYONE, setPrincipal } from './principal.js'

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i

/**
 * Express middleware in front of every tus route: decides whom the request acts for
 * ({@link setPrincipal}). `--auth none`: anyone. `--auth jwt`: the subject of a verified
 * `Authorization: Bearer <JWT>`, or 401 with `WWW-Authenticate` (RFC 6750: `error="invalid_token"`
 * when a token was sent and is bad, no error when there was none). OPTIONS passes unauthenticated:
 * CORS preflights and tus discovery carry no credentials, and answer nothing about any upload.
 */
export function authenticate(auth: AuthConfig, log: Logger) {
  const verifier = auth.mode === 'jwt' ? new JwtVerifier(auth) : undefined
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (!verifier || req.method === 'OPTIONS') {
      setPrincipal(req, ANYONE)
      return next()
    }
    try {
      const header = req.get('authorization')
      if (header === undefined || !/^Bearer(\s|$)/i.test(header)) {
        throw new GatewayError('GATEWAY_ERR_UNAUTHORIZED', 'this gateway requires Authorization: Bearer <JWT>', { headers: { 'WWW-Authenticate': 'Bearer realm="tessera"' } })
      }
      const token = BEARER.exec(header)?.[1]
      if (token === undefined) throw invalidToken('the Authorization header is not Bearer followed by one token')
      setPrincipal(req, await verifier.verify(token))
    } catch (err) {
      sendError(res, err, log, { method: req.method, url: req.originalUrl })
      return
    }
    next()
  }
}
