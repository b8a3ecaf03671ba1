import type { UploadChecksum } from '@tessera/protocol'
import type { AppendResult } from '@tessera/storage'
import type { Request } from 'express'
import { GatewayError } from '../errors.js'
import type { UploadRecord } from '../upload-record.js'
import type { TusContext } from './context.js'
import { checksumHeader, checksummed, integerHeader, limitBytes } from './request-body.js'

/** A body to store at an upload's offset, with what its request said about it. */
export interface UploadBody {
  readonly bytes: AsyncIterable<Uint8Array> | Iterable<Uint8Array>
  /** `Content-Length`, when the request had one (a chunked body has none). */
  readonly contentLength?: number | undefined
  /** `Upload-Checksum`: nothing of the body is committed unless it matches (460). */
  readonly checksum?: UploadChecksum | undefined
}

/** No bytes: what a PATCH that only declares a deferred length stores. */
export const NO_BODY: UploadBody = { bytes: [], contentLength: 0 }

/** Stores the body of a PATCH (or creation-with-upload POST), holding the upload's lock: {@link storeBody} with the request's headers. */
export function writeBody(ctx: TusContext, req: Request, record: UploadRecord, offset: number, stop: AbortSignal): Promise<StoredBody> {
  return storeBody(ctx, record, offset, { bytes: req, contentLength: integerHeader(req, 'content-length'), checksum: checksumHeader(req) }, stop)
}

/** What {@link storeBody} did: the upload's new offset and saved record. */
export interface StoredBody {
  readonly offset: number
  readonly result: AppendResult
  readonly record: UploadRecord
}

/**
 * Stores `body` at the upload's current offset, holding its lock. Without a checksum every stripe
 * is committed as it is stored, so an interrupted request keeps what arrived; with one, nothing is
 * committed unless the digest matches (460). A Tessera attempt's bytes also feed its running
 * SHA-256, whose state is saved with the record; the write that finishes an attempt runs its
 * reconciliation (it wins, or answers 460 or 410). Saves the upload's record (finished or not).
 */
export async function storeBody(ctx: TusContext, record: UploadRecord, offset: number, body: UploadBody, stop: AbortSignal): Promise<StoredBody> {
  const { maxSize } = ctx.deps.config
  const limit = record.length ?? maxSize ?? Number.MAX_SAFE_INTEGER
  const what = record.length !== undefined ? `Upload-Length (${record.length})` : `the maximum upload size (${limit})`
  const { contentLength, checksum } = body
  if (contentLength !== undefined && offset + contentLength > limit) {
    throw new GatewayError('GATEWAY_ERR_TOO_LARGE', `${contentLength} bytes at offset ${offset} go past ${what}`)
  }
  let bytes: AsyncIterable<Uint8Array> = limitBytes(body.bytes, limit - offset, what)
  let matches: (() => boolean) | undefined
  if (checksum) ({ body: bytes, matches } = checksummed(bytes, checksum))
  const hash = await ctx.reconciler.hashFor(record, offset)
  if (hash) bytes = hash.wrap(bytes)
  bytes = ctx.lifecycle.observeBody(record, offset, bytes)

  // An empty body without a checksum to verify changes nothing in the store, whose committed length
  // is `offset` (read under the lock): a length-declaring PATCH need not open the object.
  const result: AppendResult =
    contentLength === 0 && !checksum
      ? { length: offset, appended: 0, committed: true }
      : await ctx.deps.store.append(record.id, bytes, {
          signal: stop,
          commit: checksum ? 'atomic' : 'progressive',
          ...(matches && { beforeCommit: matches }),
        })
  // Recorded before any error is thrown: a body cut at Upload-Length (413) may have finished the upload.
  ctx.reconciler.afterWrite(record.id, hash, result)
  const written = await recordWrite(ctx, record, result.length)
  ctx.lifecycle.emit({ type: 'received', upload: written, bytes: result.appended, offset: result.length })
  if (written.length === result.length) ctx.lifecycle.emit({ type: 'finished', upload: written, offset: result.length })
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
