import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
import { GatewayError } from '../errors.js'
import type { AuthConfig } from './auth-config.js'
import type { Principal } from './principal.js'

/** Algorithms accepted per key source: a shared secret signs HS256 only, a key set RS256 or ES256. */
const SECRET_ALGORITHMS = ['HS256']
const KEY_SET_ALGORITHMS = ['RS256', 'ES256']

/**
 * Verifies bearer JWTs with jose for `--auth jwt`: signature (HS256 with the secret, RS256/ES256
 * with a key set), `exp` (required) and `nbf` within the clock skew, `iss` and `aud` when
 * configured, and a non-empty `sub` (the owner of the uploads the token creates). No I/O at
 * construction: a remote key set is fetched on the first token and cached by jose.
 */
export class JwtVerifier {
  readonly #key: Uint8Array | JWTVerifyGetKey
  readonly #options: JWTVerifyOptions
  readonly #remote: boolean

  constructor(config: Extract<AuthConfig, { mode: 'jwt' }>) {
    const { keys } = config
    this.#remote = keys.kind === 'jwks-url'
    this.#key = keys.kind === 'secret' ? new TextEncoder().encode(keys.secret) : keys.kind === 'jwks' ? createLocalJWKSet(keys.jwks) : createRemoteJWKSet(new URL(keys.url))
    this.#options = {
      algorithms: keys.kind === 'secret' ? SECRET_ALGORITHMS : KEY_SET_ALGORITHMS,
      clockTolerance: config.clockSkewMs / 1000,
      requiredClaims: ['exp', 'sub'],
      ...(config.issuer !== undefined && { issuer: config.issuer }),
      ...(config.audience !== undefined && { audience: config.audience }),
    }
  }

  /**
   * The principal a compact JWT stands for.
   * @throws GatewayError `GATEWAY_ERR_UNAUTHORIZED` (401, `invalid_token`) naming what is wrong with
   *   the token; `GATEWAY_ERR_AUTH_UNAVAILABLE` (503) when the `--jwks-url` key set cannot be fetched.
   */
  async verify(token: string): Promise<Principal> {
    let sub: unknown
    try {
      sub = (await jwtVerify(token, this.#key, this.#options)).payload.sub
    } catch (err) {
      throw rejection(err, this.#remote)
    }
    if (typeof sub !== 'string' || sub === '') throw invalidToken('the token has no sub claim (the owner of its uploads)')
    return { kind: 'subject', sub }
  }
}

/** A 401 `invalid_token` whose description is safe inside a quoted `error_description` (RFC 6750 §3). */
export function invalidToken(description: string, cause?: unknown): GatewayError {
  return new GatewayError('GATEWAY_ERR_UNAUTHORIZED', `invalid bearer token: ${description}`, {
    ...(cause !== undefined && { cause }),
    headers: { 'WWW-Authenticate': `Bearer realm="tessera", error="invalid_token", error_description="${description}"` },
  })
}

/** What jose's error says, in our words (its messages quote claim names, which a quoted header value cannot hold). */
function rejection(err: unknown, remote: boolean): unknown {
  const unavailable = (): GatewayError => new GatewayError('GATEWAY_ERR_AUTH_UNAVAILABLE', 'the key set at --jwks-url could not be fetched; retry shortly', { cause: err })
  if (err instanceof errors.JWKSTimeout || (err instanceof errors.JOSEError && err.code === 'ERR_JWKS_INVALID')) return unavailable()
  if (err instanceof errors.JWTExpired) return invalidToken('the token expired', err)
  if (err instanceof errors.JWTClaimValidationFailed) {
    const claim = err.claim.replace(/[^a-z]/gi, '')
    if (err.reason === 'missing') return invalidToken(`the token has no ${claim} claim`, err)
    if (claim === 'nbf') return invalidToken('the token is not valid yet (nbf)', err)
    if (claim === 'iss') return invalidToken('the token is from an issuer this gateway does not accept', err)
    if (claim === 'aud') return invalidToken('the token is not meant for this gateway (aud)', err)
    return invalidToken(`the token's ${claim} claim is invalid`, err)
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return invalidToken('the signature does not verify', err)
  if (err instanceof errors.JWKSNoMatchingKey) return invalidToken('no key of the key set matches the token', err)
  if (err instanceof errors.JOSEAlgNotAllowed) return invalidToken('the token is signed with an algorithm this gateway does not accept', err)
  if (err instanceof errors.JOSEError) return invalidToken('the token is malformed', err)
  // A network failure fetching the remote key set (jose passes fetch's error through); else a bug (500).
  return remote ? unavailable() : err
}
