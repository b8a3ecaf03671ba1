import { ProtocolError, RufhHeader, parseInteropVersion, parseStructuredBoolean, parseStructuredInteger, type RufhInteropVersion } from '@tessera/protocol'
import type { Request } from 'express'
import { GatewayError } from '../errors.js'

/** What a request of the resumable-upload draft says about its upload, parsed (400 when malformed). */
export interface DraftFields {
  readonly version: RufhInteropVersion
  /** `Upload-Complete`: this request's content ends the upload. Undefined when absent. */
  readonly complete: boolean | undefined
  readonly offset: number | undefined
  /** `Upload-Length`. */
  readonly length: number | undefined
  /** `Content-Length`; undefined for a chunked body. */
  readonly contentLength: number | undefined
}

/** Whether a request speaks the draft (it carries `Upload-Draft-Interop-Version`) rather than tus 1.0. */
export function isDraftRequest(req: Request): boolean {
  return req.get(RufhHeader.interopVersion) !== undefined
}

/** The draft's fields of `req`; 400 for a malformed one or an interop version not understood. */
export function draftFields(req: Request): DraftFields {
  try {
    const contentLength = req.get('content-length')
    return {
      version: parseInteropVersion(req.get(RufhHeader.interopVersion))!,
      complete: parseStructuredBoolean('Upload-Complete', req.get(RufhHeader.complete)),
      offset: parseStructuredInteger('Upload-Offset', req.get('upload-offset')),
      length: parseStructuredInteger('Upload-Length', req.get('upload-length')),
      contentLength: contentLength === undefined ? undefined : Number(contentLength),
    }
  } catch (err) {
    if (err instanceof ProtocolError) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', err.message, { cause: err })
    throw err
  }
}

/** Whether the request has content: a positive `Content-Length`, or a chunked body. */
export function hasContent(req: Request, fields: DraftFields): boolean {
  return fields.contentLength === undefined ? req.get('transfer-encoding') !== undefined : fields.contentLength > 0
}

/**
 * The filename of a `Content-Disposition` (RFC 6266: `filename*=UTF-8''…` preferred over
 * `filename="…"`), or undefined. How the draft's clients name what they upload.
 */
export function dispositionFilename(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(value)
  if (extended) {
    try {
      return decodeURIComponent(extended[1]!.trim())
    } catch {
      // a malformed escape: fall back to the plain parameter
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(value)
  return plain ? (plain[1]?.replace(/\\(.)/g, '$1') ?? plain[2]) : undefined
}
