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
} as const)
