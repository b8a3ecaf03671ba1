import { createHash } from 'node:crypto'

/**
 * The gateway's index of one partition's attempts, kept in a `KvStore` under
 * {@link partitionKey}. `winner` is written once, under the partition's lock, and never changes:
 * that single write is the decision "first verified attempt wins".
 */
export interface PartitionRecord {
  /** `<session id>/<partition index>`. */
  readonly partition: string
  /** Upload ids of every attempt created for the partition, in creation order. */
  readonly attempts: readonly string[]
  /** Upload id of the attempt that won, once one has. */
  readonly winner?: string
  /** ISO time the winner was decided. */
  readonly wonAt?: string
}

/** KV key of a partition: its identity is client-chosen text, so the key is its SHA-256 (hex). */
export function partitionKey(partition: string): string {
  return `p-${createHash('sha256').update(partition).digest('hex')}`
}
