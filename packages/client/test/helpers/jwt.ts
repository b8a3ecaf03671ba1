// HS256 bearer tokens for tests against a gateway run with `--auth jwt --jwt-secret JWT_SECRET`,
// signed with node:crypto (RFC 7519: base64url header.payload, HMAC-SHA-256 over both).
import { createHmac } from 'node:crypto'

/** The `--jwt-secret` of the test gateways (≥ 32 bytes). */
export const JWT_SECRET = 'client-test-secret-0123456789abcdefghij'

/** A token for `sub` that expires `expiresInS` seconds from now (negative: already expired). */
export function hsToken(sub: string, expiresInS = 3600, secret = JWT_SECRET): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, iat: now, exp: now + expiresInS })}`
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`
}

/** The gateway flags matching {@link hsToken}. */
export const JWT_FLAGS = ['--auth', 'jwt', '--jwt-secret', JWT_SECRET] as const

/**
 * The PATCHes and HEADs (method, `Upload-Offset`, status) of a 1 MiB partition sent in four 256 KiB
 * PATCHes whose token expires before the second: that one is refused, the attempt asks the server
 * where it is (HEAD, with the refreshed token) and goes on from there — not from 0.
 */
export const REFUSED_AT_256_KIB: readonly (readonly [string, string | undefined, number])[] = [
  ['PATCH', '0', 204],
  ['PATCH', '262144', 401],
  ['HEAD', undefined, 200],
  ['PATCH', '262144', 204],
  ['PATCH', '524288', 204],
  ['PATCH', '786432', 204],
]
