import { TesseraMetadataKey, WireErrorCode, type UploadMetadata } from '@tessera/protocol'
import { ClientError } from './errors.js'
import type { Partition } from './partition.js'
import type { UploadHead } from './tus-client.js'

// What a partial upload is to the client: its metadata, its URL on another endpoint, and what the
// server's answers about it mean.

/** Moves a partial's URL onto another endpoint of the same storage (same path under it). */
export function rebase(url: string, endpoints: readonly string[], to: string): string {
  for (const e of endpoints) if (url.startsWith(`${e}/`)) return `${to}${url.slice(e.length)}`
  return url
}

/**
 * Metadata of a partial: the partition's identity, offset, attempt and SHA-256 — not the SHA-256
 * for a `deferred` attempt (its length may still change; the digest goes with the length) — and
 * `tessera-integrity: sha256` when the final will carry a whole-file SHA-256.
 */
export function partitionMetadata(sessionId: string, p: Partition, attempt: number, how: { readonly deferred: boolean; readonly wholeFileSha256: boolean }): UploadMetadata {
  return {
    [TesseraMetadataKey.partition]: `${sessionId}/${p.index}`,
    [TesseraMetadataKey.partitionOffset]: String(p.offset),
    [TesseraMetadataKey.attempt]: String(attempt),
    ...(p.sha256 !== undefined && !how.deferred && { [TesseraMetadataKey.sha256]: p.sha256 }),
    ...(how.wholeFileSha256 && { [TesseraMetadataKey.integrity]: 'sha256' }),
  }
}

/** Any failure as a {@link ClientError} (a non-client error is a network error). */
export function asClientError(err: unknown): ClientError {
  return err instanceof ClientError ? err : new ClientError('CLIENT_ERR_NETWORK', String(err), { cause: err })
}

/** The path the gateway named as the winner on a SUPERSEDED answer. */
export function winnerPath(err: unknown): string | undefined {
  const w = err instanceof ClientError ? err.winner : undefined
  if (w === undefined) return undefined
  try {
    return new URL(w, 'http://x').pathname
  } catch {
    return undefined
  }
}

/** Two absolute upload URLs name the same upload path (on any endpoint). */
export function samePath(a: string, b: string): boolean {
  return new URL(a).pathname === new URL(b).pathname
}

/** Why a HEAD of a named winner does not show a complete attempt of the expected partition, or undefined. */
export function winnerProblem(
  head: UploadHead,
  expected: { readonly length: number | undefined; readonly partition: string; readonly offset: number; readonly sha256: string | undefined },
): string | undefined {
  const { length } = expected
  if (length === undefined) return 'the partition has no known length'
  if (head.length !== length) return `its Upload-Length is ${head.length ?? 'deferred'}, not the partition's ${length}`
  if (head.offset !== length) return `it is at offset ${head.offset} of ${length}`
  const m = head.metadata
  if (m === undefined) return 'it has no Upload-Metadata'
  if (m[TesseraMetadataKey.partition] !== expected.partition) return `it is an attempt of ${JSON.stringify(m[TesseraMetadataKey.partition] ?? null)}, not of ${expected.partition}`
  if (m[TesseraMetadataKey.partitionOffset] !== String(expected.offset)) return `its ${TesseraMetadataKey.partitionOffset} is ${JSON.stringify(m[TesseraMetadataKey.partitionOffset] ?? null)}, not ${expected.offset}`
  const digest = m[TesseraMetadataKey.sha256]
  if (digest !== undefined && digest !== null && expected.sha256 !== undefined && digest !== expected.sha256) return `its ${TesseraMetadataKey.sha256} differs from the partition's`
  return undefined
}

/** 410 `TESSERA_ERR_SUPERSEDED`: the gateway says another attempt of the partition won. */
export function isSuperseded(err: unknown): boolean {
  return err instanceof ClientError && err.wireCode === WireErrorCode.superseded
}

/** 404/410: the server does not have the partial (any more). */
export function isGone(err: ClientError): boolean {
  return err.code === 'CLIENT_ERR_SERVER_REJECTED' && (err.status === 404 || err.status === 410)
}
