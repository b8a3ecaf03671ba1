import { decodeBase64 } from './base64.js'
import { ProtocolError } from './errors.js'

/** Checksum algorithms of the tus checksum extension that Tessera implements, with digest sizes. */
export const CHECKSUM_ALGORITHMS = Object.freeze({ sha1: 20, sha256: 32, sha512: 64, md5: 16 } as const)

export type ChecksumAlgorithm = keyof typeof CHECKSUM_ALGORITHMS

/** A parsed `Upload-Checksum` header. */
export interface UploadChecksum {
  readonly algorithm: ChecksumAlgorithm
  /** The digest as sent, standard base64. */
  readonly digestBase64: string
}

/**
 * Parses `Upload-Checksum: <algorithm> <base64 digest>`.
 * @throws ProtocolError `PROTOCOL_ERR_UNSUPPORTED_CHECKSUM` for an algorithm not in
 *   {@link CHECKSUM_ALGORITHMS} (tus: 400), `PROTOCOL_ERR_INVALID_CHECKSUM` for a malformed value
 *   or a digest of the wrong length.
 */
export function parseChecksum(header: string): UploadChecksum {
  const parts = header.trim().split(' ')
  const [algorithm, digest] = parts
  if (parts.length !== 2 || !algorithm || !digest) {
    throw new ProtocolError('PROTOCOL_ERR_INVALID_CHECKSUM', `Upload-Checksum must be "<algorithm> <base64 digest>", got ${JSON.stringify(header)}`)
  }
  if (!Object.hasOwn(CHECKSUM_ALGORITHMS, algorithm)) {
    throw new ProtocolError('PROTOCOL_ERR_UNSUPPORTED_CHECKSUM', `Upload-Checksum algorithm ${JSON.stringify(algorithm)} is not supported; use one of ${Object.keys(CHECKSUM_ALGORITHMS).join(', ')}`)
  }
  const alg = algorithm as ChecksumAlgorithm
  const bytes = decodeBase64(digest)
  if (!bytes || bytes.length !== CHECKSUM_ALGORITHMS[alg]) {
    throw new ProtocolError('PROTOCOL_ERR_INVALID_CHECKSUM', `Upload-Checksum digest must be the base64 of ${CHECKSUM_ALGORITHMS[alg]} bytes for ${alg}`)
  }
  return { algorithm: alg, digestBase64: digest }
}
