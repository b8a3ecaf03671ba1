import type { Request, Response } from 'express'
import { GatewayError } from '../errors.js'
import type { UploadRecord } from '../upload-record.js'
import type { TusContext } from './context.js'
import { assertOctetStream, checksumHeader, integerHeader } from './request-body.js'
import { setExpires } from './upload-headers.js'
import { writeBody } from './write-body.js'

/** PATCH: appends the body at `Upload-Offset` (core, checksum, creation-defer-length). */
export async function handlePatch(ctx: TusContext, req: Request, res: Response): Promise<void> {
  const id = req.params['id'] as string
  assertOctetStream(req)
  const claimed = integerHeader(req, 'upload-offset')
  if (claimed === undefined) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', 'Upload-Offset is required')
  const declaredLength = integerHeader(req, 'upload-length')
  checksumHeader(req)
  // Deliberately read twice: this read, outside the lock, answers 404/410 without queueing for the
  // lock and expires a lapsed upload (under the lock our own hold exempts it from expiry, see
  // TusContext.isExpired); the read under the lock sees what the previous holder left.
  await ctx.record(id)

  const { record, offset } = await ctx.withLock(id, req, async (stop) => {
    let record = await ctx.record(id)
    if (record.concat?.type === 'final') throw new GatewayError('GATEWAY_ERR_FORBIDDEN', `upload ${id} is a final concatenation and cannot be patched`)
    const current = await ctx.offset(id)
    record = await ctx.reconciler.reconcile(record, current)
    if (claimed !== current) throw new GatewayError('GATEWAY_ERR_OFFSET_MISMATCH', `Upload-Offset is ${claimed} but the upload is at ${current}`)
    // Saved before the body: a settled length and the moved expiry hold even if the write fails early.
    record = { ...settleLength(ctx, record, declaredLength, current), expiresAt: ctx.expiresAt() }
    await ctx.deps.records.set(id, record)
    const { offset, record: next } = await writeBody(ctx, req, record, current, stop)
    return { record: next, offset }
  })
  res.set('Upload-Offset', String(offset))
  setExpires(res, record, offset)
  if (!req.readableEnded) res.set('Connection', 'close')
  res.status(204).end()
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
