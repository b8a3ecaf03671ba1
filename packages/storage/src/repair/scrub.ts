import { isStorageError, type StorageError } from '../errors.js'
import type { ObjectStore } from '../object-store/object-store.js'
import { regenerateBlocks, type RegenerateResult } from './regenerate-blocks.js'
import { readVerified, repairContext, type BlockProblem } from './repair-context.js'
import type { ScrubLedger } from './scrub-ledger.js'

/** Options of {@link scrub}. */
export interface ScrubOptions {
  /** Where verification times live (see {@link ScrubLedger}). */
  readonly ledger: ScrubLedger
  /** Stripes to verify in this pass, oldest verification first, ≥ 1. Default 64. */
  readonly limit?: number
  /** Clock for the ledger, ms. Default `Date.now`. */
  readonly now?: () => number
  /** Regenerate the bad blocks found (default true); false only reports them. */
  readonly repair?: boolean
  readonly signal?: AbortSignal
}

/** A block found unusable by a scrub. */
export interface ScrubFault {
  readonly objectId: string
  readonly stripe: number
  readonly block: number
  readonly problem: BlockProblem
}

/** What one {@link scrub} pass did. */
export interface ScrubReport {
  /** Stripes read end to end. */
  readonly verified: number
  readonly faults: readonly ScrubFault[]
  readonly repaired: readonly RegenerateResult[]
  /** Stripes that could not be repaired (more than m bad blocks, no target, a conflict), with the code. */
  readonly failed: readonly { readonly objectId: string; readonly stripe: number; readonly code: string }[]
}

/**
 * One scrub pass: the `limit` stripes verified longest ago (never-verified first; ties in manifest
 * order) are re-read block by block and checked against their checksums; missing, unreadable and
 * corrupt blocks are reported and, unless `repair: false`, regenerated with {@link regenerateBlocks}
 * (which verifies each new block against another k-subset). A stripe is recorded as verified once
 * it reads clean or its repair committed. Enumerates every live manifest to find the oldest: fine
 * for thousands of objects; beyond, keep the ledger ordered (next step, with the task queue).
 */
export async function scrub(store: ObjectStore, options: ScrubOptions): Promise<ScrubReport> {
  const ctx = await repairContext(store)
  const limit = options.limit ?? 64
  const now = options.now ?? Date.now
  const repair = options.repair ?? true
  const candidates: { objectId: string; stripe: number; at: number; order: number }[] = []
  let order = 0
  for await (const objectId of ctx.manifests.list()) {
    const manifest = await ctx.manifests.get(objectId)
    if (!manifest || manifest.deleted) continue
    manifest.stripes.forEach((_, stripe) => candidates.push({ objectId, stripe, at: options.ledger.verifiedAt(objectId, stripe), order: order++ }))
  }
  candidates.sort((a, b) => a.at - b.at || a.order - b.order)

  const faults: ScrubFault[] = []
  const repaired: RegenerateResult[] = []
  const failed: { objectId: string; stripe: number; code: string }[] = []
  let verified = 0
  for (const { objectId, stripe: index } of candidates.slice(0, limit)) {
    options.signal?.throwIfAborted()
    const manifest = await ctx.manifests.get(objectId)
    const stripe = manifest?.stripes[index]
    if (!manifest || manifest.deleted || !stripe) continue
    const results = await Promise.all(stripe.blocks.map((_, i) => readVerified(ctx, stripe, i, options.signal)))
    verified++
    const bad = results.flatMap((r, block) => (typeof r === 'string' ? [{ objectId, stripe: index, block, problem: r }] : []))
    faults.push(...bad)
    if (bad.length === 0) {
      options.ledger.record(objectId, index, now())
      continue
    }
    ctx.logger.warn({ objectId, stripe: index, blocks: bad.map((b) => b.block), problems: bad.map((b) => b.problem) }, 'scrub found bad blocks')
    if (!repair) continue
    try {
      repaired.push(await regenerateBlocks(store, objectId, index, bad.map((b) => b.block), options.signal ? { signal: options.signal } : {}))
      options.ledger.record(objectId, index, now())
    } catch (err) {
      if (!isStorageError(err)) throw err
      failed.push({ objectId, stripe: index, code: (err as StorageError).code })
      ctx.logger.error({ objectId, stripe: index, code: (err as StorageError).code }, 'scrub could not repair a stripe')
    }
  }
  return { verified, faults, repaired, failed }
}
