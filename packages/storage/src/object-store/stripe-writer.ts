import { randomBytes } from 'node:crypto'
import { supportsSegments, type Backend } from '../backend.js'
import { StorageError } from '../errors.js'
import type { Logger } from '../logger.js'
import { putBlock } from './block-io.js'
import type { BlockRef } from './manifest.js'
import type { SegmentSet } from './segment-set.js'

/** What {@link writeStripeBlocks} needs besides the blocks. */
export interface StripeWriteContext {
  readonly objectId: string
  /** Backends in block order (from `placeStripe`): the first `blocks.length` are primaries, the rest spares. */
  readonly placement: readonly Backend[]
  readonly writeQuorum: number
  readonly blockTimeoutMs: number
  readonly logger: Logger
  /** Where blocks go on backends that pack them into segments; others get one `put` per block. */
  readonly segments?: SegmentSet
  readonly signal?: AbortSignal
}

/**
 * Stores the k+m blocks of one stripe on distinct backends, in parallel. A block whose backend
 * fails or stalls is retried once on a spare backend when one is left. Resolves the block
 * references (`null` for blocks that could not be stored) once at least `writeQuorum` are stored;
 * otherwise removes what it stored and rejects `STORAGE_ERR_WRITE_QUORUM`.
 *
 * Block keys are `<objectId>/<stripe nonce>-<index>`: a fresh nonce per write, so a retried or
 * discarded stripe never overwrites a committed block.
 */
export async function writeStripeBlocks(blocks: readonly Uint8Array[], checksums: readonly string[], ctx: StripeWriteContext): Promise<(BlockRef | null)[]> {
  const nonce = randomBytes(6).toString('base64url')
  const spares = ctx.placement.slice(blocks.length)
  const results = await Promise.all(
    blocks.map(async (bytes, index): Promise<BlockRef | null> => {
      const key = `${ctx.objectId}/${nonce}-${index}`
      let backend = ctx.placement[index]!
      for (;;) {
        try {
          if (ctx.segments && supportsSegments(backend)) {
            const at = await ctx.segments.write(backend, bytes, ctx.blockTimeoutMs, ctx.signal)
            return { backend: backend.id, key: at.key, offset: at.offset, checksum: checksums[index]! }
          }
          await putBlock(backend, key, bytes, ctx.blockTimeoutMs, ctx.signal)
          return { backend: backend.id, key, checksum: checksums[index]! }
        } catch (err) {
          if (ctx.signal?.aborted) throw err
          ctx.logger.warn({ objectId: ctx.objectId, backend: backend.id, key, code: (err as StorageError).code }, 'block write failed')
          const spare = spares.shift()
          if (spare === undefined) return null
          backend = spare
        }
      }
    }),
  )
  const stored = results.filter((r): r is BlockRef => r !== null)
  if (stored.length < ctx.writeQuorum) {
    await deleteBlocks(ctx.placement, wholeBlocks(stored))
    throw new StorageError('STORAGE_ERR_WRITE_QUORUM', `only ${stored.length} of ${blocks.length} blocks of a stripe of ${ctx.objectId} were stored; ${ctx.writeQuorum} are required`)
  }
  return results
}

/**
 * Best-effort removal of the stored objects behind `refs` (cleanup paths: a failure here only
 * leaves garbage, never loss). A segment holds other blocks too: pass segment refs only when the
 * whole segment goes (purging its object); {@link wholeBlocks} picks the others.
 */
export async function deleteBlocks(backends: readonly Backend[], refs: readonly BlockRef[]): Promise<void> {
  const byId = new Map(backends.map((b) => [b.id, b]))
  const keys = new Map(refs.map((ref) => [`${ref.backend}\n${ref.key}`, ref]))
  await Promise.all([...keys.values()].map((ref) => byId.get(ref.backend)?.delete(ref.key).catch(() => undefined)))
}

/** The refs that are whole blocks (deletable one by one), not ranges of a segment. */
export function wholeBlocks(refs: readonly BlockRef[]): BlockRef[] {
  return refs.filter((ref) => ref.offset === undefined)
}
