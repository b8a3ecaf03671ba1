/**
 * `Upload-Metadata` keys by which a Tessera client tells the gateway which partition an attempt
 * carries, so redundant (hedged) attempts can be reconciled. Stock tus clients never send them;
 * the gateway treats their uploads as plain tus uploads.
 */
export const TesseraMetadataKey = Object.freeze({
  /** Identity of the partition an attempt carries: `<session id>/<partition index>`. */
  partition: 'tessera-partition',
  /** Byte offset of the partition within the whole file, decimal. */
  partitionOffset: 'tessera-offset',
  /** Attempt number of this partition, decimal from 0; hedges count up. */
  attempt: 'tessera-attempt',
  /** SHA-256 of the partition's bytes (on partials) or of the whole file (on a final), base64. */
  sha256: 'tessera-sha256',
  /**
   * On a final: the partition-list digest, base64 of the SHA-256 of `partitionListBytes()` of its
   * parts — the whole-file check that costs no second pass over the bytes. The default check of a
   * Tessera client; `tessera-sha256` on a final asks for a whole-file SHA-256 instead.
   */
  partitionsSha256: 'tessera-partitions-sha256',
  /**
   * On partials: `sha256` when the session's final will carry a whole-file `tessera-sha256`, so
   * the gateway may hash winners in file order as they are decided (the final then waits for
   * little); absent otherwise, and nothing is read back.
   */
  integrity: 'tessera-integrity',
} as const)
