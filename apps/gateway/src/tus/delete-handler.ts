import type { Request, Response } from 'express'
import type { TusContext } from './context.js'
import { tombstone } from './context.js'

/**
 * DELETE (termination): frees the upload's blocks — unless a final concatenation still uses them,
 * which keeps them alive — and leaves a tombstone so the id answers 410 Gone.
 */
export async function handleDelete(ctx: TusContext, req: Request, res: Response): Promise<void> {
  const id = req.params['id'] as string
  await ctx.record(id)
  await ctx.withLock(id, req, async () => {
    const record = await ctx.record(id)
    const bytes = record.attempt ? ((await ctx.deps.store.stat(id))?.length ?? 0) : 0
    await ctx.deps.store.delete(id)
    await ctx.deps.records.set(id, tombstone(record, 'terminated', ctx.deps.now()))
    await ctx.reconciler.removed(record, 'attempt-terminated', bytes)
  })
  ctx.deps.log.info({ uploadId: id }, 'upload terminated')
  res.status(204).end()
}
