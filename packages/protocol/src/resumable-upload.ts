import { ProtocolError } from './errors.js'

/**
 * The IETF "Resumable Uploads for HTTP" draft (draft-ietf-httpbis-resumable-upload), tus's
 * successor, as far as a server of it needs names and grammar. Requests of the draft carry
 * `Upload-Draft-Interop-Version`; these are the interop versions understood: 6 (drafts -04 and -05,
 * what tus-js-client's `protocol: 'ietf-draft-05'` and iOS 17's URLSession send), 7 (-06 to -08:
 * the `expires` limit renamed `max-age`) and 8 (-09 and later: `Accept-Patch` on OPTIONS).
 */
export const RUFH_INTEROP_VERSIONS = Object.freeze([6, 7, 8] as const)
export type RufhInteropVersion = (typeof RUFH_INTEROP_VERSIONS)[number]

/** Fields of the draft that tus 1.0 does not have (`Upload-Offset` and `Upload-Length` are shared), lower-case. */
export const RufhHeader = Object.freeze({
  interopVersion: 'upload-draft-interop-version',
  complete: 'upload-complete',
  limit: 'upload-limit',
})

/** The media type of an append's body (draft-03 and later: interop version 5+). */
export const PARTIAL_UPLOAD_CONTENT_TYPE = 'application/partial-upload'

/** The draft's problem types (RFC 9457 `type` URIs). */
export const RufhProblem = Object.freeze({
  mismatchingOffset: 'https://iana.org/assignments/http-problem-types#mismatching-upload-offset',
  completedUpload: 'https://iana.org/assignments/http-problem-types#completed-upload',
  inconsistentLength: 'https://iana.org/assignments/http-problem-types#inconsistent-upload-length',
})

/**
 * The interop version of a request, or undefined when it has none (not a draft request).
 * @throws ProtocolError `PROTOCOL_ERR_UNSUPPORTED_INTEROP_VERSION` for a version not in {@link RUFH_INTEROP_VERSIONS}.
 */
export function parseInteropVersion(value: string | undefined): RufhInteropVersion | undefined {
  if (value === undefined) return undefined
  const n = /^\d{1,3}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN
  const known = RUFH_INTEROP_VERSIONS.find((v) => v === n)
  if (known === undefined) {
    throw new ProtocolError('PROTOCOL_ERR_UNSUPPORTED_INTEROP_VERSION', `Upload-Draft-Interop-Version ${JSON.stringify(value)} is not one of ${RUFH_INTEROP_VERSIONS.join(', ')}`)
  }
  return known
}

// Structured fields (RFC 9651) as the draft uses them: an Item, maybe with parameters, which are ignored.
const BOOLEAN = /^\?([01])(?:;.*)?$/
const INTEGER = /^(0|[1-9][0-9]{0,14})(?:;.*)?$/

/**
 * `Upload-Complete`: a structured Boolean (`?1`, `?0`). Undefined when absent.
 * @throws ProtocolError `PROTOCOL_ERR_INVALID_FIELD` for any other value.
 */
export function parseStructuredBoolean(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined
  const m = BOOLEAN.exec(value.trim())
  if (!m) throw new ProtocolError('PROTOCOL_ERR_INVALID_FIELD', `${name} must be a structured boolean (?0 or ?1), got ${JSON.stringify(value)}`)
  return m[1] === '1'
}

/**
 * `Upload-Offset`, `Upload-Length` of the draft: a structured Integer ≥ 0 (at most 15 digits). Undefined when absent.
 * @throws ProtocolError `PROTOCOL_ERR_INVALID_FIELD` for any other value.
 */
export function parseStructuredInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const m = INTEGER.exec(value.trim())
  if (!m) throw new ProtocolError('PROTOCOL_ERR_INVALID_FIELD', `${name} must be a non-negative structured integer, got ${JSON.stringify(value)}`)
  return Number(m[1])
}

/** An `Upload-Limit` dictionary (RFC 9651 Dictionary of Integers), members in the order given; empty members left out. */
export function formatUploadLimit(limits: Readonly<Record<string, number | undefined>>): string {
  return Object.entries(limits)
    .filter((e): e is [string, number] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${Math.max(0, Math.floor(v))}`)
    .join(', ')
}
