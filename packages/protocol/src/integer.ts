import { ProtocolError } from './errors.js'

const DIGITS = /^(0|[1-9][0-9]*)$/

/**
 * Parses a non-negative decimal integer header (`Upload-Length`, `Upload-Offset`).
 * @throws ProtocolError `PROTOCOL_ERR_INVALID_INTEGER` when the value is not plain decimal digits
 *   or exceeds `Number.MAX_SAFE_INTEGER`.
 */
export function parseNonNegativeInteger(header: string, value: string): number {
  if (!DIGITS.test(value)) {
    throw new ProtocolError('PROTOCOL_ERR_INVALID_INTEGER', `${header} must be a non-negative integer, got ${JSON.stringify(value)}`)
  }
  const n = Number(value)
  if (!Number.isSafeInteger(n)) {
    throw new ProtocolError('PROTOCOL_ERR_INVALID_INTEGER', `${header} is larger than ${Number.MAX_SAFE_INTEGER}, got ${value}`)
  }
  return n
}
