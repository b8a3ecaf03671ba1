/** A satisfiable single byte range, `[start, end)`. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

/**
 * Parses a `Range` header against a representation of `length` bytes (RFC 9110 §14.1.2).
 * Returns `undefined` to serve the whole representation (no header, another unit, several ranges —
 * which a server may ignore), `'unsatisfiable'` for 416, or the range.
 */
export function parseRange(header: string | undefined, length: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  // RFC 9110 §14.2: a range unit the server does not understand is ignored.
  if (!/^\s*bytes\s*=/i.test(header)) return undefined
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (!match) return /^\s*bytes\s*=.*,/.test(header) ? undefined : 'unsatisfiable'
  const [, first, last] = match as unknown as [string, string, string]
  if (first === '' && last === '') return 'unsatisfiable'
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0 || length === 0) return 'unsatisfiable'
    return { start: Math.max(0, length - suffix), end: length }
  }
  const start = Number(first)
  const end = last === '' ? length : Math.min(length, Number(last) + 1)
  if (start >= length || end <= start) return 'unsatisfiable'
  return { start, end }
}
