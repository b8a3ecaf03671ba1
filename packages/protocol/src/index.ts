export { ProtocolError } from './errors.js'
export type { ProtocolErrorCode } from './errors.js'
export { PATCH_CONTENT_TYPE, STATUS_CHECKSUM_MISMATCH, TESSERA_ERROR_HEADER, TESSERA_READ_SESSION_HEADER, TESSERA_RECONCILIATION_HEADER, TESSERA_SHA256_HEADER, TESSERA_WINNER_HEADER, TUS_VERSION, TesseraReconciliation, TusHeader } from './headers.js'
export type { TusExtension } from './headers.js'
export { parseNonNegativeInteger } from './integer.js'
export { decodeBase64, encodeBase64 } from './base64.js'
export { formatMetadata, parseMetadata } from './metadata.js'
export type { UploadMetadata } from './metadata.js'
export { CHECKSUM_ALGORITHMS, parseChecksum } from './checksum.js'
export type { ChecksumAlgorithm, UploadChecksum } from './checksum.js'
export { formatConcat, parseConcat } from './concat.js'
export type { UploadConcat } from './concat.js'
export { WireErrorCode } from './wire-errors.js'
export { TesseraMetadataKey } from './tessera-metadata.js'
export { partitionListBytes } from './partition-list.js'
export {
  PARTIAL_UPLOAD_CONTENT_TYPE,
  RUFH_INTEROP_VERSIONS,
  RufhHeader,
  RufhProblem,
  formatUploadLimit,
  parseInteropVersion,
  parseStructuredBoolean,
  parseStructuredInteger,
} from './resumable-upload.js'
export type { RufhInteropVersion } from './resumable-upload.js'
export type { PartitionDigest } from './partition-list.js'
