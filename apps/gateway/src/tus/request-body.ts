import { createHash } from 'node:crypto'
import { PATCH_CONTENT_TYPE, ProtocolError, parseChecksum, parseNonNegativeInteger, type UploadChecksum } from '@tessera/protocol'
import type { Request } from 'express'
import { GatewayError } from '../errors.js'

/** Whether a POST carries bytes to store (creation-with-upload). */
export function hasUploadBody(req: Request): boolean {
  const type = req.get('content-type')
  if (type === undefined) return false
  return type.split(';')[0]!.trim().toLowerCase() === PATCH_CONTENT_TYPE
}

/** 415 unless the request declares `Content-Type: application/offset+octet-stream`. */
export function assertOctetStream(req: Request): void {
  if (!hasUploadBody(req)) {
    throw new GatewayError('GATEWAY_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${PATCH_CONTENT_TYPE}, got ${JSON.stringify(req.get('content-type') ?? null)}`)
  }
}

/** Where named fields are read: a request's headers (`req.get`) or its trailers ({@link trailersOf}). */
export interface Fields {
  get(name: string): string | undefined
}

/** The trailer fields of a request whose body was read to its end (none before: Node parses them last). */
export function trailersOf(req: Request): Fields {
  return { get: (name) => req.trailers[name.toLowerCase()] }
}

/** Parses a tus field with a protocol parser, turning its error into the matching 400. */
export function header<T>(fields: Fields, name: string, parse: (value: string) => T): T | undefined {
  const value = fields.get(name)
  if (value === undefined) return undefined
  try {
    return parse(value)
  } catch (err) {
    if (err instanceof ProtocolError) {
      const code = err.code === 'PROTOCOL_ERR_UNSUPPORTED_CHECKSUM' ? 'GATEWAY_ERR_UNSUPPORTED_CHECKSUM' : 'GATEWAY_ERR_INVALID_HEADER'
      throw new GatewayError(code, err.message, { cause: err })
    }
    throw err
  }
}

/** A parsed non-negative integer header (`Upload-Offset`, `Upload-Length`, `Content-Length`). */
export function integerHeader(fields: Fields, name: string): number | undefined {
  return header(fields, name, (v) => parseNonNegativeInteger(name, v))
}

/** The request's `Upload-Checksum`, parsed (400 when malformed or unsupported). */
export function checksumHeader(req: Request): UploadChecksum | undefined {
  return header(req, 'upload-checksum', parseChecksum)
}

/**
 * Yields the request body, failing with 413 as soon as it goes past `maxBytes` (the bytes up to
 * the limit are yielded first, so a progressive write keeps them).
 */
export async function* limitBytes(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number, what: string): AsyncGenerator<Uint8Array> {
  let seen = 0
  for await (const chunk of body) {
    if (seen + chunk.length > maxBytes) {
      if (maxBytes > seen) yield chunk.subarray(0, maxBytes - seen)
      throw new GatewayError('GATEWAY_ERR_TOO_LARGE', `the request body goes past ${what}`)
    }
    seen += chunk.length
    yield chunk
  }
}

/** Passes bytes through while hashing them; `matches()` afterwards compares with the header's digest. */
export function checksummed(body: AsyncIterable<Uint8Array>, checksum: UploadChecksum): { body: AsyncIterable<Uint8Array>; matches: () => boolean } {
  const hash = createHash(checksum.algorithm)
  let ended = false
  async function* pass(): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      hash.update(chunk)
      yield chunk
    }
    ended = true
  }
  return { body: pass(), matches: () => ended && hash.digest('base64') === checksum.digestBase64 }
}
