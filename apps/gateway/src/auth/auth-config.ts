import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { JSONWebKeySet } from 'jose'
import { parseDuration } from '../config-values.js'

/** Where `--auth jwt` gets the keys that verify tokens: one of `--jwt-secret`, `--jwks-file`, `--jwks-url`. */
export type JwtKeys =
  /** HS256 with a shared secret (its UTF-8 bytes, at least 32). */
  | { readonly kind: 'secret'; readonly secret: string }
  /** RS256/ES256 with the public keys of a JWKS document read at start. */
  | { readonly kind: 'jwks'; readonly jwks: JSONWebKeySet; readonly source: string }
  /** RS256/ES256 with the keys served at a URL, fetched on first use and cached (jose's `createRemoteJWKSet`). */
  | { readonly kind: 'jwks-url'; readonly url: string }

/** How requests to the tus routes are authenticated (`--auth`). */
export type AuthConfig =
  /** No authentication: anyone who reaches the port can read and change every upload (today's behaviour). */
  | { readonly mode: 'none' }
  | {
      readonly mode: 'jwt'
      readonly keys: JwtKeys
      /** Required `iss` claim; `undefined` = any issuer. */
      readonly issuer: string | undefined
      /** Required `aud` claim (one of the token's audiences); `undefined` = any audience. */
      readonly audience: string | undefined
      /** Tolerance on `exp` and `nbf`, ms. Default 30 s. */
      readonly clockSkewMs: number
    }

/** The options of {@link parseAuthConfig}, as `config.ts` names them in its `OPTIONS` table. */
export type AuthOptionKey = 'auth' | 'jwtSecret' | 'jwksFile' | 'jwksUrl' | 'jwtIssuer' | 'jwtAudience' | 'jwtClockSkew'

/** A raw option value and where it came from (a flag, a variable, a config field), as `config.ts` reads it. */
export type RawOption = (key: AuthOptionKey) => { readonly value: string; readonly from: string } | undefined

/** Shortest `--jwt-secret`, bytes: RFC 7518 §3.2 wants an HS256 key at least as long as the hash. */
export const MIN_JWT_SECRET_BYTES = 32

const DEFAULT_CLOCK_SKEW_MS = 30_000

/**
 * The `--auth` part of the gateway configuration. Every problem is pushed to `problems` (reported
 * with the others, exit 2): an unknown mode, not exactly one key source with `jwt`, a short secret,
 * an unreadable or key-less JWKS file, a JWKS URL that is not http(s), a bad duration, and any JWT
 * option given with `--auth none` (it would be ignored). `cwd` resolves `--jwks-file`.
 */
export function parseAuthConfig(raw: RawOption, problems: string[], cwd: string): AuthConfig {
  const modeRaw = raw('auth')
  const mode = modeRaw?.value ?? 'none'
  const jwtKeys = ['jwtSecret', 'jwksFile', 'jwksUrl', 'jwtIssuer', 'jwtAudience', 'jwtClockSkew'] as const
  if (mode !== 'jwt') {
    if (mode !== 'none') problems.push(`${modeRaw!.from}: expected 'none' or 'jwt', got ${JSON.stringify(mode)}`)
    for (const key of jwtKeys) {
      const given = raw(key)
      if (given) problems.push(`${given.from} is set but --auth is not jwt: it would be ignored`)
    }
    return { mode: 'none' }
  }
  const sources = (['jwtSecret', 'jwksFile', 'jwksUrl'] as const).flatMap((key) => {
    const given = raw(key)
    return given ? [{ key, ...given }] : []
  })
  if (sources.length !== 1) {
    problems.push(`--auth jwt needs exactly one of --jwt-secret, --jwks-file, --jwks-url, got ${sources.length === 0 ? 'none' : sources.map((s) => s.from).join(' and ')}`)
  }
  const keys = sources.length === 1 ? jwtKeysOf(sources[0]!, problems, cwd) : undefined
  const skewRaw = raw('jwtClockSkew')
  let clockSkewMs = DEFAULT_CLOCK_SKEW_MS
  if (skewRaw) {
    const ms = parseDuration(skewRaw.value)
    if (ms === undefined) problems.push(`${skewRaw.from}: expected a duration such as 30s, got ${JSON.stringify(skewRaw.value)}`)
    else clockSkewMs = ms
  }
  const issuer = nonEmpty(raw('jwtIssuer'), problems)
  const audience = nonEmpty(raw('jwtAudience'), problems)
  // With problems the caller throws; the placeholder is never used.
  return { mode: 'jwt', keys: keys ?? { kind: 'secret', secret: '' }, issuer, audience, clockSkewMs }
}

function jwtKeysOf(source: { key: 'jwtSecret' | 'jwksFile' | 'jwksUrl'; value: string; from: string }, problems: string[], cwd: string): JwtKeys | undefined {
  if (source.key === 'jwtSecret') {
    const bytes = Buffer.byteLength(source.value, 'utf8')
    // Not the value itself: it is a secret.
    if (bytes < MIN_JWT_SECRET_BYTES) problems.push(`${source.from}: an HS256 secret must be at least ${MIN_JWT_SECRET_BYTES} bytes, got ${bytes}`)
    return { kind: 'secret', secret: source.value }
  }
  if (source.key === 'jwksUrl') {
    const url = URL.canParse(source.value) ? new URL(source.value) : undefined
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      problems.push(`${source.from}: expected an http: or https: URL, got ${JSON.stringify(source.value)}`)
      return undefined
    }
    return { kind: 'jwks-url', url: url.href }
  }
  const path = resolve(cwd, source.value)
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'))
    const keys = (parsed as { keys?: unknown } | null)?.keys
    if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'object' || k === null || typeof (k as { kty?: unknown }).kty !== 'string')) {
      throw new Error('not a JWKS document ({"keys": [ {"kty": …}, … ]} with at least one key)')
    }
    if (keys.some((k) => 'd' in k)) throw new Error('it holds a private key (a "d" member); give the gateway the public keys only')
    return { kind: 'jwks', jwks: parsed as JSONWebKeySet, source: path }
  } catch (err) {
    problems.push(`${source.from}: ${path}: ${(err as Error).message}`)
    return undefined
  }
}

function nonEmpty(given: { value: string; from: string } | undefined, problems: string[]): string | undefined {
  if (!given) return undefined
  if (given.value.trim() === '') problems.push(`${given.from}: must not be empty`)
  return given.value
}
