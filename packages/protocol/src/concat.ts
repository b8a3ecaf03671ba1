import { ProtocolError } from './errors.js'

/** A parsed `Upload-Concat` header. */
export type UploadConcat = { readonly type: 'partial' } | { readonly type: 'final'; readonly uploads: readonly string[] }

/**
 * Parses `Upload-Concat: partial` or `Upload-Concat: final;<url> <url> …`. The URLs are returned
 * as sent (absolute or path-absolute); resolving them to uploads is the server's job.
 * @throws ProtocolError `PROTOCOL_ERR_INVALID_CONCAT` for anything else, or a final with no URL.
 */
export function parseConcat(header: string): UploadConcat {
  const value = header.trim()
  if (value === 'partial') return { type: 'partial' }
  if (value.startsWith('final;')) {
    const uploads = value.slice('final;'.length).trim().split(/ +/).filter(Boolean)
    if (uploads.length > 0) return { type: 'final', uploads }
  }
  throw new ProtocolError('PROTOCOL_ERR_INVALID_CONCAT', `Upload-Concat must be "partial" or "final;<url> <url> …", got ${JSON.stringify(header)}`)
}

/** Formats an `Upload-Concat` header value. */
export function formatConcat(concat: UploadConcat): string {
  return concat.type === 'partial' ? 'partial' : `final;${concat.uploads.join(' ')}`
}
