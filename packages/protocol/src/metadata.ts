import { decodeBase64, encodeBase64, fromUtf8, utf8 } from './base64.js'
import { ProtocolError } from './errors.js'

/** Upload metadata: key → UTF-8 value, or `null` for a key sent without a value. */
export type UploadMetadata = Record<string, string | null>

// tus 1.0: keys are ASCII, non-empty, without spaces or commas; values are base64.
const KEY = /^[\x21-\x2b\x2d-\x7e]+$/

/**
 * Parses an `Upload-Metadata` header.
 * @throws ProtocolError `PROTOCOL_ERR_INVALID_METADATA` naming the offending pair: an empty or
 *   non-ASCII key, a duplicate key, a value that is not base64, or a value that is not UTF-8.
 */
export function parseMetadata(header: string): UploadMetadata {
  const out: UploadMetadata = Object.create(null)
  if (header.trim() === '') return out
  for (const pair of header.split(',')) {
    const parts = pair.trim().split(' ')
    const [key, value] = parts
    if (parts.length > 2 || key === undefined || !KEY.test(key)) {
      throw new ProtocolError('PROTOCOL_ERR_INVALID_METADATA', `Upload-Metadata pair ${JSON.stringify(pair)} must be "key" or "key base64value" with an ASCII key without spaces or commas`)
    }
    if (Object.hasOwn(out, key)) {
      throw new ProtocolError('PROTOCOL_ERR_INVALID_METADATA', `Upload-Metadata key ${JSON.stringify(key)} appears twice`)
    }
    if (value === undefined) {
      out[key] = null
      continue
    }
    const bytes = decodeBase64(value)
    const text = bytes && fromUtf8(bytes)
    if (text === undefined) {
      throw new ProtocolError('PROTOCOL_ERR_INVALID_METADATA', `Upload-Metadata value of ${JSON.stringify(key)} is not base64-encoded UTF-8`)
    }
    out[key] = text
  }
  return out
}

/**
 * Formats metadata as an `Upload-Metadata` header value (the inverse of {@link parseMetadata}).
 * An empty string is sent as a key without value: HTTP trims the trailing space `"key "` would need.
 */
export function formatMetadata(metadata: UploadMetadata): string {
  return Object.entries(metadata)
    .map(([key, value]) => {
      if (!KEY.test(key)) {
        throw new ProtocolError('PROTOCOL_ERR_INVALID_METADATA', `metadata key ${JSON.stringify(key)} must be ASCII without spaces or commas`)
      }
      return value === null || value === '' ? key : `${key} ${encodeBase64(utf8(value))}`
    })
    .join(',')
}
