import { ProtocolError } from './errors.js'

/** One partition of a file as the partition-list digest covers it. */
export interface PartitionDigest {
  /** Where the partition starts in the file, bytes. */
  readonly offset: number
  /** Its length, bytes. */
  readonly length: number
  /** The SHA-256 of its bytes: 32 bytes. */
  readonly sha256: Uint8Array
}

/** What the partition-list digest starts with, so it can never be mistaken for another SHA-256 input. */
const DOMAIN = new TextEncoder().encode('tessera-partitions-v1\n')
const ENTRY_BYTES = 8 + 8 + 32

/**
 * The bytes whose SHA-256 is a file's *partition-list digest* (`tessera-partitions-sha256` on a
 * final): `tessera-partitions-v1\n`, then for every partition in file order its offset and length
 * as unsigned 64-bit big-endian integers and its 32-byte SHA-256. Each side computes it from
 * digests it already has — the client from its partitions, the gateway from the attempts it
 * verified — so the whole-file check costs no second pass over the bytes. It binds exactly what a
 * whole-file SHA-256 does: each partition's bytes are verified against their SHA-256 as they
 * arrive, and this list fixes which partitions make the file, in which order, with no gap or
 * overlap (docs/reconciliation.md).
 *
 * @throws ProtocolError `PROTOCOL_ERR_INVALID_PARTITIONS` when the partitions do not tile the file
 *   from byte 0 (each offset must be where the previous one ended), a length is not a safe
 *   non-negative integer, or a digest is not 32 bytes.
 */
export function partitionListBytes(parts: readonly PartitionDigest[]): Uint8Array {
  const out = new Uint8Array(DOMAIN.length + parts.length * ENTRY_BYTES)
  out.set(DOMAIN)
  const view = new DataView(out.buffer)
  let end = 0
  parts.forEach((p, i) => {
    const bad = (what: string): ProtocolError => new ProtocolError('PROTOCOL_ERR_INVALID_PARTITIONS', `partition ${i}: ${what}`)
    if (p.offset !== end) throw bad(`starts at ${p.offset}, but the partitions before it end at ${end}`)
    if (!Number.isSafeInteger(p.length) || p.length < 0) throw bad(`length must be a non-negative safe integer, got ${p.length}`)
    if (p.sha256.length !== 32) throw bad(`SHA-256 must be 32 bytes, got ${p.sha256.length}`)
    const at = DOMAIN.length + i * ENTRY_BYTES
    view.setBigUint64(at, BigInt(p.offset))
    view.setBigUint64(at + 8, BigInt(p.length))
    out.set(p.sha256, at + 16)
    end += p.length
  })
  return out
}
