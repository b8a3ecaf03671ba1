import type { Request, Response } from 'express'
import { principalOf } from '../auth/principal.js'
import type { UploadRecord } from '../upload-record.js'
import type { TusContext } from './context.js'
import { setUploadHeaders } from './upload-headers.js'

/**
 * HEAD: the upload's offset. Takes the upload's lock, so a client resuming after a dropped
 * connection first makes the stalled PATCH commit what it received, and learns the true offset.
 */
export async function handleHead(ctx: TusContext, req: Request, res: Response): Promise<void> {
  const { record, offset } = await uploadState(ctx, req, req.params['id'] as string)
  setUploadHeaders(ctx, res, record, offset)
  res.set('Cache-Control', 'no-store')
  res.status(200).end()
}

/**
 * Upload `id` as the request's principal may see it, and its true offset — tus HEAD and the
 * resumable-upload draft's offset retrieval alike: read under the upload's lock, so a stalled
 * request holding it first commits what it received.
 */
export async function uploadState(ctx: TusContext, req: Request, id: string): Promise<{ readonly record: UploadRecord; readonly offset: number }> {
  const who = principalOf(req)
  // Deliberately read twice: this read, outside the lock, answers 404/410 without queueing for the
  // lock and expires a lapsed upload (under the lock our own hold exempts it from expiry, see
  // TusContext.isExpired); the read under the lock sees what the previous holder left.
  await ctx.record(id, who)
  return ctx.withLock(id, req, async () => {
    const found = await ctx.record(id, who)
    const offset = await ctx.offset(id)
    return { record: await ctx.reconciler.reconcile(found, offset), offset }
  })
}
