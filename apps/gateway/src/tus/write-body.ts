import type { AppendResult } from '@tessera/storage'
import type { Request } from 'express'
import { GatewayError } from '../errors.js'
import type { UploadRecord } from '../upload-record.js'
import type { TusContext } from './context.js'
import { checksumHeader, checksummed, integerHeader, limitBytes } from './request-body.js'

/**
 * Stores a PATCH (or creation-with-upload POST) body at the upload's current offset, holding its
 * lock. Without `Upload-Checksum` every stripe is committed as it is stored, so an interrupted
 * request keeps what arrived; with it, nothing is committed unless the digest matches (460).
 * A Tessera attempt's bytes also feed its running SHA-256, whose state is saved with the record;
 * the write that finishes an attempt runs its reconciliation (it wins, or answers 460 or 410).
 * Saves the upload's record (finished or not) and resolves its new offset and record.
 */
export async function writeBody(ctx: TusContext, req: Request, record: UploadRecord, offset: number, stop: AbortSignal): Promise<{ offset: number; result: AppendResult; record: UploadRecord }> {
  const { maxSize } = ctx.deps.config
  const limit = record.length ?? maxSize ?? Number.MAX_SAFE_INTEGER
  const what = record.length !== undefined ? `Upload-Length (${record.length})` : `the maximum upload size (${limit})`
  const contentLength = integerHeader(req, 'content-length')
  if (contentLength !== undefined && offset + contentLength > limit) {
    throw new GatewayError('GATEWAY_ERR_TOO_LARGE', `${contentLength} bytes at offset ${offset} go past ${what}`)
  }
  const checksum = checksumHeader(req)
  let body: AsyncIterable<Uint8Array> = limitBytes(req, limit - offset, what)
  let matches: (() => boolean) | undefined
  if (checksum) ({ body, matches } = checksummed(body, checksum))
  const hash = await ctx.reconciler.hashFor(record, offset)
  if (hash) body = hash.wrap(body)

  const result = await ctx.deps.store.append(record.id, body, {
    signal: stop,
    commit: checksum ? 'atomic' : 'progressive',
    ...(matches && { beforeCommit: matches }),
  })
  // Recorded before any error is thrown: a body cut at Upload-Length (413) may have finished the upload.
  ctx.reconciler.afterWrite(record.id, hash, result)
  const written = await recordWrite(ctx, record, result.length)
  // Also after a stopped write: a loser's in-flight PATCH, stopped by the winner, answers 410.
  await ctx.reconciler.reconcile(written, result.length)
  if (result.sourceError instanceof GatewayError) throw result.sourceError
  if (checksum && !result.committed && result.stopped === undefined) {
    throw new GatewayError('GATEWAY_ERR_CHECKSUM_MISMATCH', `the body does not match Upload-Checksum ${checksum.algorithm}; none of its bytes were stored`)
  }
  if (result.stopped === 'aborted') {
    ctx.deps.log.info({ uploadId: record.id, offset: result.length, reason: String(stop.reason) }, 'write stopped early')
  } else if (result.stopped === 'source-error') {
    ctx.deps.log.info({ uploadId: record.id, offset: result.length, err: String(result.sourceError) }, 'client stopped sending')
  }
  return { offset: result.length, result, record: written }
}

/** Saves the record after a write: a finished upload no longer expires, an unfinished one expires later. */
async function recordWrite(ctx: TusContext, record: UploadRecord, offset: number): Promise<UploadRecord> {
  const finished = record.length !== undefined && offset === record.length
  const next: UploadRecord = finished ? withoutExpiry(record) : { ...record, expiresAt: ctx.expiresAt() }
  await ctx.deps.records.set(record.id, next)
  if (finished) ctx.deps.log.info({ uploadId: record.id, length: offset }, 'upload finished')
  return next
}

function withoutExpiry(record: UploadRecord): UploadRecord {
  const { expiresAt: _, ...rest } = record
  return rest
}
