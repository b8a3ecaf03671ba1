import { StorageError } from '../errors.js'
import type { BlockRef, StripeRecord } from '../object-store/manifest.js'
import type { ObjectStore } from '../object-store/object-store.js'
import { readStripeData } from '../object-store/stripe-reader.js'
import { deleteBlocks } from '../object-store/stripe-writer.js'
import { rebuildBlocks, type RegeneratedBlock } from './regenerate-blocks.js'
import { commitStripe, deleteReplaced, loadStripe, repairContext, type RepairContext } from './repair-context.js'

/** Options of {@link addParity}. */
export interface AddParityOptions {
  /** Target parity count m′ per stripe; stripes that already have ≥ m′ are left alone. */
  readonly parityBlocks: number
  /** Cap on m′, default `backends − k` (every block on a distinct backend); never above 256 − k. */
  readonly maxParityBlocks?: number
  /** Backends for the new parity blocks, in preference order (default: those the stripe does not use). */
  readonly targetBackends?: readonly string[]
  readonly signal?: AbortSignal
}

/** Options of {@link dropParity}. */
export interface DropParityOptions {
  /** Target parity count m″ per stripe; stripes with ≤ m″ are left alone. */
  readonly parityBlocks: number
  /** Floor of m″, default the store's `parityBlocks` (parity added for risk goes; the base stays). */
  readonly minParityBlocks?: number
}

/** What {@link addParity} / {@link dropParity} did to one stripe. */
export interface ParityChange {
  readonly stripe: number
  readonly from: number
  readonly to: number
  readonly added: readonly RegeneratedBlock[]
  readonly deleted: readonly BlockRef[]
}

/**
 * Raises an object's parity to m′ stripe by stripe: each stripe k+m becomes k+m′ by generating
 * parity rows m…m′−1 and committing `parityBlocks: m′` with the new blocks appended.
 *
 * Why the existing parity stays valid: the codec's encoding matrix for k+n blocks is
 * E = V·V_top⁻¹, V the (k+n)×k Vandermonde matrix with rows r^c (r = 0…k+n−1) and V_top its top k×k.
 * Row r of V depends only on r, and V_top is the same for every n, so the first k+m rows of E for
 * k+m′ *are* E for k+m: parity is prefix-compatible (`test/repair-parity.test.ts` checks it on bytes).
 * So no stored block is rewritten; each stripe is still checked at run time (its recorded parity
 * checksums must equal the k+m′ encoding of its data), and a stripe that fails is refused with
 * `STORAGE_ERR_CORRUPT` rather than mixed with rows of another geometry.
 *
 * Every new block is verified like a regenerated one (read back and re-derived from another k-subset).
 * Stripes commit one by one (conditional update, retried on conflict); a crash between leaves some
 * stripes at m′ and the rest at m, all readable.
 * @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` (m′ above the cap), `STORAGE_ERR_UNRECOVERABLE`, `STORAGE_ERR_WRITE_QUORUM`, `STORAGE_ERR_CORRUPT`.
 */
export async function addParity(store: ObjectStore, objectId: string, options: AddParityOptions): Promise<ParityChange[]> {
  const ctx = await repairContext(store)
  const manifest = await ctx.manifests.get(objectId)
  if (!manifest || manifest.deleted) throw new StorageError('STORAGE_ERR_NOT_FOUND', `no object ${objectId}`)
  const changes: ParityChange[] = []
  for (let s = 0; s < manifest.stripes.length; s++) {
    const { stripe } = await loadStripe(ctx, objectId, s)
    const k = stripe.dataBlocks
    const cap = Math.min(options.maxParityBlocks ?? ctx.backends.length - k, ctx.backends.length - k, 256 - k)
    if (!Number.isInteger(options.parityBlocks) || options.parityBlocks < 0 || options.parityBlocks > cap) {
      throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`parityBlocks\` to be an integer from 0 to ${cap}, got \`${String(options.parityBlocks)}\``)
    }
    const m = stripe.parityBlocks
    const target = options.parityBlocks
    if (target <= m) continue
    await assertPrefixCompatible(ctx, objectId, s, stripe, target, options.signal)
    const wide: StripeRecord = { ...stripe, parityBlocks: target, blocks: [...stripe.blocks, ...new Array<null>(target - m).fill(null)] }
    const newIndexes = Array.from({ length: target - m }, (_, i) => k + m + i)
    const rebuilt = await rebuildBlocks(ctx, objectId, s, wide, newIndexes, options)
    const committed = await commitStripe(
      ctx,
      objectId,
      s,
      (current) => current.parityBlocks === m && current.blocks.length === k + m,
      (current) => ({ ...current, parityBlocks: target, blocks: [...current.blocks, ...newIndexes.map((i) => rebuilt.refs.get(i)!.ref)] }),
    )
    if (!committed) {
      await deleteBlocks(ctx.backends, [...rebuilt.refs.values()].map((r) => r.ref))
      throw new StorageError('STORAGE_ERR_CONFLICT', `stripe ${s} of ${objectId} changed geometry while parity was added`)
    }
    ctx.logger.info({ objectId, stripe: s, from: m, to: target }, 'parity added')
    changes.push({ stripe: s, from: m, to: target, added: [...rebuilt.refs.values()], deleted: [] })
  }
  return changes
}

/**
 * Lowers an object's parity back to m″: each stripe with more drops its last parity blocks (rows
 * are positional, so only the tail can go) in a conditional manifest update, then deletes the
 * dropped whole blocks (see `regenerateBlocks` for which blocks are deleted).
 * @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` when m″ is below the floor.
 */
export async function dropParity(store: ObjectStore, objectId: string, options: DropParityOptions): Promise<ParityChange[]> {
  const ctx = await repairContext(store)
  const floor = options.minParityBlocks ?? store.options.parityBlocks
  if (!Number.isInteger(options.parityBlocks) || options.parityBlocks < floor) {
    throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`parityBlocks\` to be an integer from ${floor} (minParityBlocks), got \`${String(options.parityBlocks)}\``)
  }
  const manifest = await ctx.manifests.get(objectId)
  if (!manifest || manifest.deleted) throw new StorageError('STORAGE_ERR_NOT_FOUND', `no object ${objectId}`)
  const changes: ParityChange[] = []
  for (let s = 0; s < manifest.stripes.length; s++) {
    const { stripe } = await loadStripe(ctx, objectId, s)
    const m = stripe.parityBlocks
    const target = options.parityBlocks
    if (m <= target) continue
    const keep = stripe.dataBlocks + target
    const dropped = stripe.blocks.slice(keep)
    const committed = await commitStripe(
      ctx,
      objectId,
      s,
      (current) => current.parityBlocks === m,
      (current) => ({ ...current, parityBlocks: target, blocks: current.blocks.slice(0, keep) }),
    )
    if (!committed) continue
    const deleted = await deleteReplaced(ctx, objectId, committed.manifest, dropped)
    ctx.logger.info({ objectId, stripe: s, from: m, to: target }, 'parity dropped')
    changes.push({ stripe: s, from: m, to: target, added: [], deleted })
  }
  return changes
}

/** Checks that the stripe's recorded parity equals rows k…k+m−1 of the k+m′ encoding of its data. */
async function assertPrefixCompatible(ctx: RepairContext, objectId: string, s: number, stripe: StripeRecord, target: number, signal?: AbortSignal): Promise<void> {
  const k = stripe.dataBlocks
  const m = stripe.parityBlocks
  if (m === 0) return
  const data = await readStripeData(stripe, 0, k - 1, { objectId, stripeIndex: s, backends: ctx.byId, codecs: ctx.codecs, blockTimeoutMs: ctx.blockTimeoutMs, logger: ctx.logger, ...(signal && { signal }) })
  const parity = Array.from({ length: target }, () => new Uint8Array(stripe.blockBytes))
  ;(await ctx.codecs.codec(k, target)).encode(data, parity)
  for (let p = 0; p < m; p++) {
    const ref = stripe.blocks[k + p]
    if (ref && ctx.codecs.checksum(parity[p]!) !== ref.checksum) {
      throw new StorageError('STORAGE_ERR_CORRUPT', `parity ${p} of stripe ${s} of ${objectId} differs between the ${k}+${m} and ${k}+${target} encodings: not prefix-compatible, refusing to mix geometries`)
    }
  }
}
