import { TesseraMetadataKey, type UploadMetadata } from '@tessera/protocol'
import { ClientError, isRetriable } from './errors.js'
import type { ResolvedUploadOptions } from './options.js'
import type { Partition } from './partition.js'
import type { Clock, HashFactory } from './ports.js'
import { sha256Base64 } from './resume-state.js'
import type { TusClient } from './tus-client.js'
import type { UploadEventMap } from './upload-events.js'

/** What a {@link runPartition} needs from its upload. */
export interface RunnerContext {
  readonly options: ResolvedUploadOptions
  readonly tus: TusClient
  readonly clock: Clock
  readonly hash: HashFactory
  /** Endpoints in use (after discovery). */
  readonly endpoints: readonly string[]
  /** Whether PATCHes carry `Upload-Checksum: sha256`. */
  readonly checksum: boolean
  /** `partial` in parallel mode; undefined for the one upload of sequential mode. */
  readonly concat: 'partial' | undefined
  /** Identity of this upload, for partition metadata. */
  readonly sessionId: string
  /** Metadata of a created upload (sequential mode: the user's). */
  metadataFor(p: Partition, attempt: number): UploadMetadata
  emit<K extends keyof UploadEventMap>(name: K, event: UploadEventMap[K]): void
  /** `bytes` of `p` starting at `from` were acknowledged for the first time. */
  acknowledged(p: Partition, from: number, bytes: Uint8Array): void
  /** Called before bytes at `from` are sent (sequential mode hashes skipped prefixes here). */
  beforeSend?(p: Partition, from: number): Promise<void>
  /** Persists the resume state; resolves once written. */
  persist(): Promise<void>
  /** Feeds an attempt's outcome to the per-endpoint models, partitioner and concurrency. */
  observe(endpoint: string, outcome: { ok: true; bytes: number; durationMs: number } | { ok: false; stalled: boolean }): void
  /** Per-request timings for the partitioner. */
  observeRequest(kind: 'rtt' | 'transfer', durationMs: number, bytes: number): void
  /** Rejects with ABORTED once aborted; resolves at once unless paused. */
  gate(): Promise<void>
  /** Whether an error came from `pause()` (not a failure), after which the attempt just waits. */
  pausedDuring(err: unknown): boolean
  /** Aborted by the user: the error to throw. */
  abortError(): ClientError | undefined
  sleep(ms: number): Promise<void>
}

/**
 * Uploads one partition to completion: create (or HEAD to find the server's offset), then PATCH
 * chunks of at most `chunkBytes`, each checksummed; on a retriable failure wait per
 * `retryDelaysMs` and try again on the next endpoint (the same upload URL on another gateway of
 * the same storage). A lost partial (404/410) is created again. No acknowledged byte is re-sent.
 * @throws ClientError the last error once retries are exhausted or the error is fatal.
 */
export async function runPartition(ctx: RunnerContext, p: Partition): Promise<void> {
  let attempt = 0
  let failures = 0
  while (!p.done) {
    await ctx.gate()
    const endpoint = ctx.endpoints[(p.home + attempt) % ctx.endpoints.length]!
    const ackedBefore = p.acked
    try {
      await runAttempt(ctx, p, attempt, endpoint)
      return
    } catch (caught) {
      const aborted = ctx.abortError()
      if (aborted) throw aborted
      if (ctx.pausedDuring(caught)) continue
      const err = caught instanceof ClientError ? caught : new ClientError('CLIENT_ERR_NETWORK', String(caught), { cause: caught })
      if (p.acked > ackedBefore) failures = 0
      failures += 1
      const lost = err.code === 'CLIENT_ERR_SERVER_REJECTED' && (err.status === 404 || err.status === 410) && p.url !== undefined
      if (lost) {
        // The partial expired or was removed: start it again (its bytes must be sent again).
        p.url = undefined
        p.acked = 0
      }
      const stalled = err.code === 'CLIENT_ERR_STALLED'
      ctx.observe(endpoint, { ok: false, stalled })
      if (stalled) ctx.emit('stall', { partition: p.index, attempt, endpoint, stallTimeoutMs: ctx.options.stallTimeoutMs, offset: p.acked })
      const delays = ctx.options.retryDelaysMs
      const willRetry = (lost || isRetriable(err)) && failures <= delays.length
      const retryInMs = willRetry ? delays[failures - 1]! : undefined
      ctx.emit('attempt-failed', { partition: p.index, attempt, endpoint, code: err.code, status: err.status, message: err.message, willRetry, retryInMs })
      if (!willRetry) throw err
      await ctx.persist()
      await ctx.sleep(retryInMs!)
      attempt += 1
    }
  }
}

/** Moves a partial's URL onto another endpoint of the same storage (same path under it). */
export function rebase(url: string, endpoints: readonly string[], to: string): string {
  for (const e of endpoints) if (url.startsWith(`${e}/`)) return `${to}${url.slice(e.length)}`
  return url
}

async function runAttempt(ctx: RunnerContext, p: Partition, attempt: number, endpoint: string): Promise<void> {
  const started = ctx.clock()
  let offset: number
  let url: string
  if (p.url === undefined) {
    const t = ctx.clock()
    url = await ctx.tus.create(endpoint, {
      length: p.data.length,
      metadata: ctx.metadataFor(p, attempt),
      ...(ctx.concat && { concat: { type: ctx.concat } }),
    })
    ctx.observeRequest('rtt', ctx.clock() - t, 0)
    p.url = url
    offset = 0
    // The URL must be on disk before any byte goes to it, or a crash would orphan acknowledged bytes.
    await ctx.persist()
  } else {
    url = rebase(p.url, ctx.endpoints, endpoint)
    const t = ctx.clock()
    const head = await ctx.tus.head(url)
    ctx.observeRequest('rtt', ctx.clock() - t, 0)
    offset = head.offset
    if (p.data.length !== undefined && offset > p.data.length) {
      throw new ClientError('CLIENT_ERR_OFFSET_MISMATCH', `${url} is at offset ${offset}, past the partition's ${p.data.length} bytes`)
    }
    if (offset < p.acked) {
      throw new ClientError('CLIENT_ERR_OFFSET_MISMATCH', `${url} is at offset ${offset} but ${p.acked} bytes were acknowledged: the server lost bytes`)
    }
    if (offset > p.acked) {
      // Acknowledged in an earlier run (or answered but not recorded): count them now.
      const from = p.acked
      p.acked = offset
      ctx.acknowledged(p, from, new Uint8Array(0))
    }
    const length = p.data.length ?? head.length
    if (length !== undefined && offset === length) {
      p.done = true
      await ctx.persist()
    }
  }
  ctx.emit('attempt-start', { partition: p.index, attempt, endpoint, offset, length: p.data.length ?? -1, url })

  let sent = 0
  while (!p.done) {
    await ctx.gate()
    await ctx.beforeSend?.(p, offset)
    const { bytes, last } = await p.data.chunk(offset, ctx.options.chunkBytes)
    if (bytes.length === 0 && p.data.length !== undefined) break
    const t = ctx.clock()
    const next = await ctx.tus.patch(url, {
      offset,
      body: bytes,
      ...(ctx.checksum && { sha256Base64: sha256Base64(ctx.hash, bytes) }),
      ...(last && p.data.length === undefined && { uploadLength: offset + bytes.length }),
    })
    ctx.observeRequest('transfer', ctx.clock() - t, bytes.length)
    const from = offset
    offset = next
    sent += bytes.length
    if (offset > p.acked) {
      p.acked = offset
      ctx.acknowledged(p, from, bytes)
    }
    if (last) p.done = true
    await ctx.persist()
  }
  p.done = true
  const durationMs = Math.max(1, ctx.clock() - started)
  ctx.observe(endpoint, { ok: true, bytes: sent, durationMs })
  ctx.emit('attempt-done', { partition: p.index, attempt, endpoint, url, bytesSent: sent, durationMs, rateBps: (sent * 1000) / durationMs })
}

/** Metadata of a partial: the partition's identity, offset, attempt and SHA-256. */
export function partitionMetadata(sessionId: string, p: Partition, attempt: number): UploadMetadata {
  return {
    [TesseraMetadataKey.partition]: `${sessionId}/${p.index}`,
    [TesseraMetadataKey.partitionOffset]: String(p.offset),
    [TesseraMetadataKey.attempt]: String(attempt),
    ...(p.sha256 !== undefined && { [TesseraMetadataKey.sha256]: p.sha256 }),
  }
}
