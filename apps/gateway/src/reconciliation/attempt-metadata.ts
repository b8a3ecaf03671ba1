import { TesseraMetadataKey, decodeBase64, type UploadMetadata } from '@tessera/protocol'
import { GatewayError } from '../errors.js'
import type { AttemptInfo } from '../upload-record.js'

/** `<session id>/<partition index>`: a URL-safe session id and a decimal index without leading zeros. */
const PARTITION = /^[A-Za-z0-9._~-]{1,128}\/(0|[1-9]\d{0,8})$/
const DECIMAL = /^(0|[1-9]\d{0,15})$/

/**
 * The partition a partial upload carries, from its `tessera-*` metadata; `undefined` for an upload
 * without any (stock tus clients). A malformed or incomplete set, or one on an upload that is not a
 * partial, is a 400 (`GATEWAY_ERR_INVALID_HEADER`): reconciliation must never guess.
 */
export function attemptFromMetadata(metadata: UploadMetadata, partial: boolean): AttemptInfo | undefined {
  const partition = metadata[TesseraMetadataKey.partition]
  const offset = metadata[TesseraMetadataKey.partitionOffset]
  const attempt = metadata[TesseraMetadataKey.attempt]
  if (partition === undefined && offset === undefined && attempt === undefined) return undefined
  const bad = (what: string): GatewayError => new GatewayError('GATEWAY_ERR_INVALID_HEADER', `Upload-Metadata: ${what}`)
  if (!partial) throw bad(`${TesseraMetadataKey.partition} is only valid on a partial upload (Upload-Concat: partial)`)
  if (typeof partition !== 'string' || !PARTITION.test(partition)) {
    throw bad(`${TesseraMetadataKey.partition} must be "<session id>/<partition index>", got ${JSON.stringify(partition ?? null)}`)
  }
  if (typeof offset !== 'string' || !DECIMAL.test(offset) || !Number.isSafeInteger(Number(offset))) {
    throw bad(`${TesseraMetadataKey.partitionOffset} must be a non-negative decimal integer, got ${JSON.stringify(offset ?? null)}`)
  }
  if (typeof attempt !== 'string' || !DECIMAL.test(attempt) || !Number.isSafeInteger(Number(attempt))) {
    throw bad(`${TesseraMetadataKey.attempt} must be a non-negative decimal integer, got ${JSON.stringify(attempt ?? null)}`)
  }
  const integrity = metadata[TesseraMetadataKey.integrity]
  if (integrity !== undefined && integrity !== 'sha256' && integrity !== 'partitions') {
    throw bad(`${TesseraMetadataKey.integrity} must be "sha256" or "partitions", got ${JSON.stringify(integrity)}`)
  }
  const sha256 = sha256FromMetadata(metadata)
  return { partition, offset: Number(offset), attempt: Number(attempt), ...(sha256 !== undefined && { sha256 }), ...(integrity === 'sha256' && { wholeFileSha256: true }) }
}

/**
 * A SHA-256 metadata value of an upload — `tessera-sha256` by default, or `tessera-partitions-sha256`
 * of a final — as base64 of 32 bytes; `undefined` when absent; 400 when malformed.
 */
export function sha256FromMetadata(metadata: UploadMetadata, key: string = TesseraMetadataKey.sha256): string | undefined {
  const value = metadata[key]
  if (value === undefined) return undefined
  if (value === null || decodeBase64(value)?.length !== 32) {
    throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', `Upload-Metadata: ${key} must be the base64 of a 32-byte SHA-256 digest, got ${JSON.stringify(value)}`)
  }
  return value
}
