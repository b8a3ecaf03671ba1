import { createHash } from 'node:crypto'
import type { AttemptInfo, UploadRecord } from '../upload-record.js'

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

/**
 * KV key (and lock id) of an attempt's partition: its {@link partitionScope} is client-chosen
 * text, so the key is its SHA-256 (hex).
 */
export function partitionKey(attempt: ScopedAttempt): string {
  return `p-${createHash('sha256').update(partitionScope(attempt)).digest('hex')}`
}

/** An attempt as far as its partition's identity goes. */
export type ScopedAttempt = Pick<UploadRecord, 'owner'> & { readonly attempt: AttemptInfo }

/**
 * The identity of an attempt's partition in the gateway: its `tessera-partition` within its
 * owner's namespace (`--auth jwt`), so that attempts reconcile only with attempts of the same
 * owner — another owner naming the same partition can neither win nor supersede it (docs/auth.md).
 * An upload without an owner keeps the bare partition (the keys of `--auth none`, as before). The
 * owner goes first as a JSON string, which ends at its own closing quote: the text is injective in
 * (owner, partition), and a bare partition never has a quote, so it meets no owned one.
 */
export function partitionScope({ owner, attempt }: ScopedAttempt): string {
  return owner === undefined ? attempt.partition : `${JSON.stringify(owner)}${attempt.partition}`
}
