/** Where one block of a stripe lives. */
export interface BlockRef {
  /** `Backend.id` of the backend holding the block. */
  readonly backend: string
  /** Block key on that backend: the block itself, or the segment holding it (then `offset` is set). */
  readonly key: string
  /** Byte offset of the block within the segment `key`; absent for a block stored whole. */
  readonly offset?: number
  /** xxhash64 of the stored (padded) block, 16 hex chars. */
  readonly checksum: string
}

/**
 * One stripe: `bytes` of the object cut into `dataBlocks` blocks of `blockBytes` (the last ones
 * zero-padded), plus `parityBlocks` parity blocks. `blocks[i]` is `null` when block i could not be
 * stored (the stripe is degraded until repaired).
 */
export interface StripeRecord {
  readonly bytes: number
  readonly blockBytes: number
  readonly dataBlocks: number
  readonly parityBlocks: number
  readonly blocks: readonly (BlockRef | null)[]
}

/**
 * The durable description of one object. `stripes` cover the object's bytes in order, without
 * gaps; the object's committed length is the sum of their `bytes`.
 */
export interface Manifest {
  /** Incremented by every change; the basis of conditional updates. */
  readonly version: number
  readonly stripes: readonly StripeRecord[]
  /** Objects whose stripes this one reuses (a concatenation), in order. */
  readonly sources: readonly string[]
  /** Objects that reuse this one's stripes; its blocks live until they are all deleted. */
  readonly referrers: readonly string[]
  /** Deleted by its owner but kept because referrers still read its blocks. */
  readonly deleted: boolean
}

/** Committed length of an object: the sum of its stripes' bytes. */
export function manifestBytes(manifest: Pick<Manifest, 'stripes'>): number {
  let total = 0
  for (const s of manifest.stripes) total += s.bytes
  return total
}
