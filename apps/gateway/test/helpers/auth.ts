// Helpers of the authentication tests: tokens signed with jose, and requests compared as whole answers.
import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose'
import { TUS } from './gateway.js'

/** A 32-byte HS256 secret for `--jwt-secret`. */
export const SECRET = 'test-secret-0123456789-abcdefghij-klmnop'

/** Claims and signing choices of a test token; `exp` defaults to an hour from now. */
export interface TokenSpec {
  readonly sub?: string
  /** Seconds since the epoch; `null` leaves `exp` out. */
  readonly exp?: number | null
  readonly nbf?: number
  readonly iss?: string
  readonly aud?: string
}

const now = (): number => Math.floor(Date.now() / 1000)

/** Builds the claims of `spec`. */
function claims(spec: TokenSpec): SignJWT {
  const payload: JWTPayload = {}
  if (spec.sub !== undefined) payload.sub = spec.sub
  if (spec.iss !== undefined) payload.iss = spec.iss
  if (spec.aud !== undefined) payload.aud = spec.aud
  if (spec.nbf !== undefined) payload.nbf = spec.nbf
  const exp = spec.exp === undefined ? now() + 3600 : spec.exp
  if (exp !== null) payload.exp = exp
  return new SignJWT(payload).setIssuedAt()
}

/** An HS256 token signed with `secret` (default {@link SECRET}). */
export function hsToken(spec: TokenSpec, secret = SECRET): Promise<string> {
  return claims(spec).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret))
}

/** A key pair for RS256 or ES256 and its public JWK (with a `kid`). */
export interface SigningKey {
  readonly alg: 'RS256' | 'ES256'
  readonly kid: string
  readonly privateKey: CryptoKey
  readonly jwk: JWK
}

export async function signingKey(alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg)
  const kid = randomBytes(6).toString('hex')
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

/** A token signed with `key`. */
export function keyToken(key: SigningKey, spec: TokenSpec): Promise<string> {
  return claims(spec).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey)
}

/** `Authorization: Bearer <token>` with the tus version, or only the version without a token. */
export function as(token: string | undefined, headers: Record<string, string> = {}): Record<string, string> {
  return { ...TUS, ...(token !== undefined && { Authorization: `Bearer ${token}` }), ...headers }
}

/** A whole answer: status, every header but `date`, body text. */
export interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** Sends one request and reads the whole answer. */
export async function send(method: string, url: string, headers: Record<string, string>, body?: Uint8Array): Promise<Answer> {
  const res = await fetch(url, { method, headers, ...(body && { body }) })
  const all = Object.fromEntries([...res.headers].filter(([name]) => name !== 'date'))
  return { status: res.status, headers: all, body: await res.text() }
}

/** `answer` with every occurrence of `from` (an upload id) replaced by `to`, to compare with an unknown id's answer. */
export function renamed(answer: Answer, from: string, to: string): Answer {
  const swap = (s: string): string => s.replaceAll(from, to)
  return { status: answer.status, headers: Object.fromEntries(Object.entries(answer.headers).map(([k, v]) => [k, swap(v)])), body: swap(answer.body) }
}

/** A random upload id that names nothing (32 hex digits, like real ones). */
export function unknownId(): string {
  return randomBytes(16).toString('hex')
}
