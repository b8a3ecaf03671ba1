import type { TusContext } from '../tus/context.js'

/** One unfinished upload this gateway is receiving, or received bytes of lately (`GET /_tessera/uploads`). */
export interface UploadInFlight {
  readonly id: string
  /** Committed bytes. */
  readonly offset: number
  /** Declared length, bytes; `null` while deferred. */
  readonly length: number | null
  /** A request holds the upload's lock on this gateway now (a PATCH being received). */
  readonly receiving: boolean
  /** When a request last let go of the upload's lock here (ISO); `null` while the first one holds it. */
  readonly lastWriteAt: string | null
  readonly createdAt: string
  /** A Tessera attempt: its partition `<session>/<index>` and attempt number (hedges count up). */
  readonly partition?: { readonly id: string; readonly attempt: number }
}

/** `GET /_tessera/uploads`. */
export interface UploadsInFlight {
  readonly uploads: readonly UploadInFlight[]
  /** More candidates than `limit` were left unread. */
  readonly truncated: boolean
}

/**
 * The unfinished uploads among those this gateway holds the lock of now, then those it wrote to
 * lately (the latest 100 lock releases, newest first): never a scan of the record store — at most
 * `limit` record reads and `stat`s per call, so a dashboard polling it costs the same with a
 * million uploads in Redis. Uploads other gateways of a cluster receive are theirs to list. Gone
 * and finished uploads, and finals (assembled, never written), are left out.
 */
export async function uploadsInFlight(ctx: TusContext, limit: number): Promise<UploadsInFlight> {
  const recent = [...ctx.lastWrites.entries()].reverse()
  const candidates = [...new Set([...ctx.inflight.keys(), ...recent.map(([id]) => id)])]
  const read = await Promise.all(candidates.slice(0, limit).map(async (id): Promise<UploadInFlight | undefined> => {
    const record = await ctx.deps.records.get(id)
    if (!record || record.gone || record.concat?.type === 'final') return undefined
    const offset = (await ctx.deps.store.stat(id))?.length ?? 0
    // Both read now, together: a request that let go of the lock during the reads above is no
    // longer receiving and has its last write (read apart, the list once showed neither).
    const receiving = ctx.inflight.has(id)
    const at = ctx.lastWrites.peek(id)
    if (!receiving && record.length !== undefined && offset >= record.length) return undefined
    return {
      id,
      offset,
      length: record.length ?? null,
      receiving,
      lastWriteAt: at === undefined ? null : new Date(at).toISOString(),
      createdAt: record.createdAt,
      ...(record.attempt && { partition: { id: record.attempt.partition, attempt: record.attempt.attempt } }),
    }
  }))
  return { uploads: read.filter((u) => u !== undefined), truncated: candidates.length > limit }
}
