import { TESSERA_SHA256_HEADER, decodeBase64 } from '@tessera/protocol'
import type { Request, Response } from 'express'
import { principalOf } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import type { UploadRecord } from '../upload-record.js'
import type { TusContext } from './context.js'
import { type Fields, assertOctetStream, checksumHeader, integerHeader, trailersOf } from './request-body.js'
import { setExpires } from './upload-headers.js'
import { NO_BODY, type StoredBody, storeBody, writeBody } from './write-body.js'

/**
 * PATCH: appends the body at `Upload-Offset` (core, checksum, creation-defer-length). A deferred
 * length (with its `Tessera-Sha256`) may also come as trailers of a chunked body: applied after the
 * body, under the same lock, exactly as an empty length-declaring PATCH right after this one would
 * be (`Tessera-Reconciliation: length-trailer`, docs/reconciliation.md).
 */
export async function handlePatch(ctx: TusContext, req: Request, res: Response): Promise<void> {
  assertOctetStream(req)
  const claimed = integerHeader(req, 'upload-offset')
  if (claimed === undefined) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', 'Upload-Offset is required')
  const declared = declarationOf(req)
  checksumHeader(req)
  // Trailers exist only once the whole body arrived (Node parses them last).
  const { record, offset } = await appendToUpload(ctx, req, req.params['id'] as string, claimed, () => declared, () => declarationOf(trailersOf(req)))
  res.set('Upload-Offset', String(offset))
  setExpires(res, record, offset)
  if (!req.readableEnded) res.set('Connection', 'close')
  res.status(204).end()
}

/**
 * Appends the request's body to upload `id` at `claimed` for the request's principal, holding the
 * upload's lock — tus PATCH and the resumable-upload draft's append alike: 404/410 for an upload it
 * may not see, 403 on a final, 409 (with the upload's `Upload-Offset`) when `claimed` is not its
 * offset. `before` says what the request declares, given the upload and its offset under the lock
 * (it may refuse by throwing); that is applied before the body. `after`, asked once the whole body
 * has arrived, may declare more (a length in trailers, a length the body's end settles), applied
 * under the same lock exactly as an empty length-declaring PATCH right after this one would be.
 */
export async function appendToUpload(
  ctx: TusContext,
  req: Request,
  id: string,
  claimed: number,
  before: (record: UploadRecord, offset: number) => Declaration,
  after: (written: StoredBody) => Declaration,
): Promise<StoredBody> {
  const who = principalOf(req)
  // Deliberately read twice: this read, outside the lock, answers 404/410 without queueing for the
  // lock and expires a lapsed upload (under the lock our own hold exempts it from expiry, see
  // TusContext.isExpired); the read under the lock sees what the previous holder left.
  await ctx.record(id, who)
  return ctx.withLock(id, req, async (stop) => {
    let record = await ctx.record(id, who)
    if (record.concat?.type === 'final') throw new GatewayError('GATEWAY_ERR_FORBIDDEN', `upload ${id} is a final concatenation and cannot be patched`)
    const current = await ctx.offset(id)
    record = await ctx.reconciler.reconcile(record, current)
    if (claimed !== current) {
      throw new GatewayError('GATEWAY_ERR_OFFSET_MISMATCH', `Upload-Offset is ${claimed} but the upload is at ${current}`, { headers: { 'Upload-Offset': String(current) } })
    }
    // Saved before the body: a settled length and the moved expiry hold even if the write fails early.
    record = { ...settle(ctx, record, before(record, current), current), expiresAt: ctx.expiresAt() }
    await ctx.deps.records.set(id, record)
    const written = await writeBody(ctx, req, record, current, stop)
    // A stopped store may not have taken all of the body.
    if (written.result.stopped !== undefined) return written
    const more = after(written)
    if (more.length === undefined) return written
    // Saved by the empty store's record write (finished or not): no body can fail in between.
    return storeBody(ctx, settle(ctx, written.record, more, written.offset), written.offset, NO_BODY, stop)
  })
}

/** What an append declares, in its headers or its trailers: `Upload-Length` and, with it, `Tessera-Sha256`; 400 when malformed. */
export interface Declaration {
  readonly length: number | undefined
  readonly digest: string | undefined
}

function declarationOf(fields: Fields): Declaration {
  const length = integerHeader(fields, 'upload-length')
  return { length, digest: digestField(fields, length) }
}

/** Applies a declaration to `record` at `offset` ({@link settleLength}, {@link settleDigest}); the caller saves it. */
function settle(ctx: TusContext, record: UploadRecord, declared: Declaration, offset: number): UploadRecord {
  return settleDigest(record, settleLength(ctx, record, declared.length, offset), declared.digest)
}

/** Applies a deferred length sent with a PATCH (creation-defer-length); 400 when it contradicts. The caller saves it. */
function settleLength(ctx: TusContext, record: UploadRecord, declared: number | undefined, offset: number): UploadRecord {
  if (declared === undefined) return record
  if (record.length !== undefined) {
    if (declared !== record.length) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', `Upload-Length ${declared} differs from the upload's length ${record.length}`)
    return record
  }
  if (declared < offset) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', `Upload-Length ${declared} is less than the bytes already received (${offset})`)
  const { maxSize } = ctx.deps.config
  if (maxSize !== undefined && declared > maxSize) throw new GatewayError('GATEWAY_ERR_TOO_LARGE', `Upload-Length ${declared} exceeds the maximum upload size ${maxSize}`)
  return { ...record, length: declared }
}

/**
 * The `Tessera-Sha256` of a PATCH, header or trailer (docs/reconciliation.md, "Deferred-length
 * attempts"): base64 of 32 bytes, only together with `Upload-Length` in the same place; 400 otherwise.
 */
function digestField(fields: Fields, declaredLength: number | undefined): string | undefined {
  const value = fields.get(TESSERA_SHA256_HEADER)
  if (value === undefined) return undefined
  if (declaredLength === undefined) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', 'Tessera-Sha256 is only valid on a PATCH that carries Upload-Length')
  if (decodeBase64(value)?.length !== 32) {
    throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', `Tessera-Sha256 must be the base64 of a 32-byte SHA-256 digest, got ${JSON.stringify(value)}`)
  }
  return value
}

/**
 * Saves a `Tessera-Sha256` sent with the PATCH that declares a deferred length into the attempt's
 * digest, which its completion verifies like `tessera-sha256`. 400 on an upload that is not a
 * Tessera attempt, when it contradicts the digest the attempt already has, or when the length was
 * not deferred (a repeat of the same digest is accepted: a retried length-declaring PATCH). The
 * caller saves the record.
 */
function settleDigest(before: UploadRecord, record: UploadRecord, digest: string | undefined): UploadRecord {
  if (digest === undefined) return record
  const { attempt } = record
  if (!attempt) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', 'Tessera-Sha256 is only valid on a Tessera attempt (an upload with tessera-partition metadata)')
  if (attempt.sha256 !== undefined) {
    if (attempt.sha256 !== digest) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', `Tessera-Sha256 ${digest} differs from the attempt's digest ${attempt.sha256}`)
    return record
  }
  if (before.length !== undefined) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', 'Tessera-Sha256 is only valid on the PATCH that declares a deferred Upload-Length')
  return { ...record, attempt: { ...attempt, sha256: digest } }
}
