import type { Request, Response } from 'express'
import { principalOf } from '../auth/principal.js'
import type { TusContext } from './context.js'

/**
 * DELETE (termination): frees the upload's blocks — unless a final concatenation still uses them,
 * which keeps them alive — and leaves a tombstone so the id answers 410 Gone.
 */
export async function handleDelete(ctx: TusContext, req: Request, res: Response): Promise<void> {
  const id = req.params['id'] as string
  const who = principalOf(req)
  // Deliberately read twice: this read, outside the lock, answers 404/410 without queueing for the
  // lock and expires a lapsed upload (under the lock our own hold exempts it from expiry, see
  // TusContext.isExpired); the read under the lock sees what the previous holder left.
  await ctx.record(id, who)
  await ctx.withLock(id, req, async () => {
    const record = await ctx.record(id, who)
    const bytes = await ctx.discard(record, 'terminated')
    await ctx.reconciler.removed(record, 'attempt-terminated', bytes)
  })
  ctx.deps.log.info({ uploadId: id }, 'upload terminated')
  res.status(204).end()
}
