import { encodeBase64 } from '@tessera/protocol'
import type { HashFactory } from './ports.js'

/** One partition as remembered between runs. */
export interface PartitionRecord {
  readonly index: number
  readonly offset: number
  /** Bytes; undefined for a deferred-length sequential upload. */
  readonly length: number | undefined
  /** Partial (or, in sequential mode, the whole) upload's URL, once created. */
  readonly url: string | undefined
  /** base64 SHA-256 of the partition (parallel mode). */
  readonly sha256: string | undefined
  /** Bytes acknowledged when last written; the server's HEAD is what counts on resume. */
  readonly acked: number
  readonly done: boolean
}

/**
 * What an upload persists after every acknowledged step (version 1). Invariants: `partitions` are
 * contiguous from offset 0 in *file* order, each with its own index (unique; a split's rest takes
 * the next free indices, so after a split file order is not index order); a partition with a
 * `url` exists on the server (or did); a partition marked `done` was acknowledged complete and is
 * never sent again. A split partition is stored with its new (shorter) length and digest and its
 * rest as the partitions after it, in one write, before any of the rest is created.
 */
export interface ResumeState {
  readonly version: 1
  readonly fingerprint: string
  /** Random id of the upload, in partition metadata (`tessera-partition: <sessionId>/<index>`). */
  readonly sessionId: string
  /** Source size in bytes, undefined when unknown. */
  readonly size: number | undefined
  readonly mode: 'parallel' | 'sequential'
  readonly endpoints: readonly string[]
  readonly partitions: readonly PartitionRecord[]
  readonly updatedAt: string
}

/** The state store key of an upload: hex SHA-256 of its fingerprint and endpoints. */
export function stateKey(hash: HashFactory, fingerprint: string, endpoints: readonly string[]): string {
  const h = hash()
  h.update(new TextEncoder().encode(JSON.stringify([fingerprint, [...endpoints].sort()])))
  return toHex(h.digest())
}

/** Bytes → lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** SHA-256 of `bytes`, base64 (the form of `Upload-Checksum` and `tessera-sha256`). */
export function sha256Base64(hash: HashFactory, bytes: Uint8Array): string {
  const h = hash()
  h.update(bytes)
  return encodeBase64(h.digest())
}

/**
 * A stored document if it is a usable state for this upload, else undefined (a state from another
 * version, size or mode is ignored: the upload starts over).
 */
export function parseResumeState(value: unknown, expected: { fingerprint: string; size: number | undefined }): ResumeState | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const s = value as Partial<ResumeState>
  if (s.version !== 1 || typeof s.sessionId !== 'string' || s.fingerprint !== expected.fingerprint || (s.size ?? undefined) !== expected.size) return undefined
  if ((s.mode !== 'parallel' && s.mode !== 'sequential') || !Array.isArray(s.partitions)) return undefined
  let offset = 0
  const indices = new Set<number>()
  for (const p of s.partitions) {
    if (typeof p !== 'object' || p === null || !Number.isSafeInteger(p.index) || p.index < 0 || indices.has(p.index) || p.offset !== offset) return undefined
    indices.add(p.index)
    if (p.url !== undefined && typeof p.url !== 'string') return undefined
    if (typeof p.acked !== 'number' || typeof p.done !== 'boolean') return undefined
    if (p.length === undefined) {
      if (s.mode !== 'sequential') return undefined
    } else {
      if (typeof p.length !== 'number') return undefined
      offset += p.length
    }
  }
  return s as ResumeState
}
