import { createHash } from 'node:crypto'
import { TesseraMetadataKey, decodeBase64, partitionListBytes } from '@tessera/protocol'
import type { BlockFault, ObjectStore } from '@tessera/storage'
import { GatewayError } from '../errors.js'
import type { UploadRecord } from '../upload-record.js'

/** A finished partial a final will concatenate (already resolved to its partition's winner). */
export interface FinalPart {
  readonly record: UploadRecord
  readonly length: number
}

/**
 * Checks that the partitions of a final cover the file from byte 0 with no gap or overlap, in the
 * order listed: each part's `tessera-offset` must be where the previous one ended. Naming two
 * attempts of one partition resolves both to its winner, which then overlaps itself. Parts without
 * Tessera metadata mixed with parts that have it are refused: their place in the file is unknown.
 * @throws GatewayError `GATEWAY_ERR_INVALID_CONCAT` (400) naming the first problem.
 */
export function checkCoverage(parts: readonly FinalPart[], path: (id: string) => string): void {
  let end = 0
  for (const { record, length } of parts) {
    const attempt = record.attempt
    if (!attempt) {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `${path(record.id)} carries no tessera-partition, but other parts of this final do: its place in the file is unknown`)
    }
    if (attempt.offset > end) {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `gap: partition ${attempt.partition} starts at byte ${attempt.offset}, but the parts before it end at byte ${end}`)
    }
    if (attempt.offset < end) {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `overlap: partition ${attempt.partition} starts at byte ${attempt.offset}, inside the parts before it (which end at byte ${end})`)
    }
    end += length
  }
}

/**
 * The partition-list digest (base64; `partitionListBytes` of @tessera/protocol) of a final's parts,
 * from the SHA-256 each winner was verified against when it completed — no byte is read. Call
 * after {@link checkCoverage}.
 * @throws GatewayError `GATEWAY_ERR_INVALID_CONCAT` (400) when a part carries no `tessera-sha256`
 *   (it won unverified, so no digest vouches for its bytes).
 */
export function partitionListSha256(parts: readonly FinalPart[], path: (id: string) => string): string {
  const digests = parts.map(({ record, length }) => {
    const sha256 = record.attempt?.sha256
    if (sha256 === undefined) {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `${path(record.id)} carries no ${TesseraMetadataKey.sha256}, so a ${TesseraMetadataKey.partitionsSha256} cannot vouch for it`)
    }
    return { offset: record.attempt!.offset, length, sha256: decodeBase64(sha256)! }
  })
  return createHash('sha256').update(partitionListBytes(digests)).digest('base64')
}

/**
 * The SHA-256 (base64) of the concatenation of `ids`, streamed from the store in order — one full
 * read of the file (k verified blocks per stripe) before the final exists. See
 * docs/reconciliation.md for the cost. Blocks read around are reported to `onFault` (durability).
 */
export async function wholeFileSha256(store: ObjectStore, ids: readonly string[], signal?: AbortSignal, onFault?: (fault: BlockFault) => void): Promise<string> {
  const hash = createHash('sha256')
  for (const id of ids) {
    for await (const chunk of await store.read(id, { ...(signal && { signal }), ...(onFault && { onFault }) })) hash.update(chunk)
  }
  return hash.digest('base64')
}
