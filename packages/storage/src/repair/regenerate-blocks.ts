import type { Backend } from '../backend.js'
import { StorageError } from '../errors.js'
import { putBlock, readBlock } from '../object-store/block-io.js'
import type { BlockRef, StripeRecord } from '../object-store/manifest.js'
import { deleteBlocks } from '../object-store/stripe-writer.js'
import type { ObjectStore } from '../object-store/object-store.js'
import { commitStripe, deleteReplaced, loadStripe, readVerified, repairBlockKey, repairContext, sameRef, type BlockProblem, type RepairContext } from './repair-context.js'

/** Options of {@link regenerateBlocks}. */
export interface RegenerateOptions {
  /**
   * Backend ids to write the regenerated blocks to, in order of preference. Default: the store's
   * backends the stripe does not use, then the replaced blocks' own backends (a new key there).
   * A backend holding another block of the stripe is never used.
   */
  readonly targetBackends?: readonly string[]
  readonly signal?: AbortSignal
}

/** One regenerated block. */
export interface RegeneratedBlock {
  readonly block: number
  readonly ref: BlockRef
  /** Backends tried before `ref.backend` whose write or verification failed. */
  readonly rejected: readonly { readonly backend: string; readonly reason: 'write-failed' | 'verify-mismatch' }[]
  /** `k-subset`: re-derived from a k-subset other than the one it was generated from; `checksum`: no other subset existed (k+m − lost = k), checked against the recorded checksum only. */
  readonly verifiedBy: 'k-subset' | 'checksum'
}

/** What {@link regenerateBlocks} did. */
export interface RegenerateResult {
  readonly objectId: string
  readonly stripe: number
  readonly regenerated: readonly RegeneratedBlock[]
  /** Blocks of the stripe found unusable while reading sources (not among those asked for). */
  readonly faults: readonly { readonly block: number; readonly problem: BlockProblem }[]
  /** Replaced whole blocks deleted after the commit. */
  readonly deleted: readonly BlockRef[]
  /** Manifest version after the commit. */
  readonly version: number
  /** Conditional updates retried because the manifest changed meanwhile. */
  readonly conflicts: number
}

/** Internal result of {@link rebuildBlocks}: new refs by block index, before any manifest change. */
export interface RebuiltBlocks {
  readonly refs: ReadonlyMap<number, RegeneratedBlock>
  readonly faults: readonly { readonly block: number; readonly problem: BlockProblem }[]
}

/**
 * Regenerates blocks `blockIndexes` of stripe `stripeIndex` (lost, corrupt, or about to be replaced)
 * and commits them:
 * 1. reads the stripe's other blocks, each checked against its checksum, until k verified ones;
 * 2. reconstructs the requested blocks from that k-subset S1 (`ReedSolomon.reconstruct`);
 * 3. writes each to a target backend (never one holding another block of the stripe), reads it back
 *    and **re-derives it from a different k-subset** S2 (S1 with one block swapped for another
 *    verified one, read afresh; S2 never contains the block itself). On a mismatch the copy is
 *    deleted and the block is regenerated on the next target;
 * 4. commits all new refs in one conditional manifest update, re-reading and retrying on
 *    `STORAGE_ERR_CONFLICT` (the retry applies only if the replaced refs are still the ones it read);
 * 5. deletes the replaced blocks — whole blocks only; a block inside a segment is left to the segment's
 *    owner (it goes when its object is deleted).
 * A crash before 4 leaves unreferenced blocks under the object's prefix (swept with the object); after
 * 4 and before 5, the old blocks (same). The object is readable throughout.
 *
 * @throws StorageError `STORAGE_ERR_NOT_FOUND` (object), `STORAGE_ERR_INVALID_ARGUMENT` (indexes),
 *   `STORAGE_ERR_UNRECOVERABLE` (fewer than k verified blocks), `STORAGE_ERR_WRITE_QUORUM` (no target
 *   took a verified copy), `STORAGE_ERR_CONFLICT` (the stripe was repaired by someone else meanwhile).
 */
export async function regenerateBlocks(store: ObjectStore, objectId: string, stripeIndex: number, blockIndexes: readonly number[], options: RegenerateOptions = {}): Promise<RegenerateResult> {
  const ctx = await repairContext(store)
  const { stripe } = await loadStripe(ctx, objectId, stripeIndex)
  const width = stripe.dataBlocks + stripe.parityBlocks
  const indexes = [...new Set(blockIndexes)].sort((a, b) => a - b)
  if (indexes.length === 0 || indexes.some((i) => !Number.isInteger(i) || i < 0 || i >= width)) {
    throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`blockIndexes\` to be block indexes from 0 to ${width - 1}, got ${JSON.stringify(blockIndexes)}`)
  }
  const rebuilt = await rebuildBlocks(ctx, objectId, stripeIndex, stripe, indexes, options)
  const replaced = indexes.map((i) => stripe.blocks[i] ?? null)
  const committed = await commitStripe(
    ctx,
    objectId,
    stripeIndex,
    (current) => current.blockBytes === stripe.blockBytes && current.parityBlocks === stripe.parityBlocks && indexes.every((i) => sameRef(current.blocks[i], stripe.blocks[i])),
    (current) => ({ ...current, blocks: current.blocks.map((b, i) => rebuilt.refs.get(i)?.ref ?? b) }),
  )
  if (!committed) {
    await deleteBlocks(ctx.backends, [...rebuilt.refs.values()].map((r) => r.ref))
    throw new StorageError('STORAGE_ERR_CONFLICT', `stripe ${stripeIndex} of ${objectId} changed while its blocks were regenerated; nothing committed`)
  }
  const deleted = await deleteReplaced(ctx, objectId, committed.manifest, replaced)
  ctx.logger.info({ objectId, stripe: stripeIndex, blocks: indexes, backends: [...rebuilt.refs.values()].map((r) => r.ref.backend), conflicts: committed.conflicts }, 'blocks regenerated')
  return { objectId, stripe: stripeIndex, regenerated: [...rebuilt.refs.values()], faults: rebuilt.faults, deleted, version: committed.manifest.version, conflicts: committed.conflicts }
}

/**
 * Steps 1–3 of {@link regenerateBlocks} for a stripe *view* (which may be wider than the stored
 * stripe: `addParity` passes one with new `null` parity slots). Writes and verifies, commits nothing.
 */
export async function rebuildBlocks(ctx: RepairContext, objectId: string, stripeIndex: number, stripe: StripeRecord, indexes: readonly number[], options: RegenerateOptions = {}): Promise<RebuiltBlocks> {
  const k = stripe.dataBlocks
  const width = k + stripe.parityBlocks
  const codec = await ctx.codecs.codec(k, stripe.parityBlocks)
  const targets = new Set(indexes)
  const pool = Array.from({ length: width }, (_, i) => i).filter((i) => !targets.has(i) && stripe.blocks[i])

  // 1. k verified blocks (data first: the cheaper decode), plus the rest read lazily for S2.
  const verified = new Map<number, Uint8Array>()
  const faults: { block: number; problem: BlockProblem }[] = []
  const untried = [...pool]
  const readMore = async (count: number): Promise<void> => {
    const batch = untried.splice(0, count)
    await Promise.all(
      batch.map(async (i) => {
        const got = await readVerified(ctx, stripe, i, options.signal)
        if (typeof got === 'string') faults.push({ block: i, problem: got })
        else verified.set(i, got)
      }),
    )
  }
  while (verified.size < k && untried.length > 0) await readMore(k - verified.size)
  if (verified.size < k) {
    throw new StorageError('STORAGE_ERR_UNRECOVERABLE', `stripe ${stripeIndex} of ${objectId} has ${verified.size} verified blocks of the ${k} needed`)
  }

  // 2. Generate every target from S1.
  const s1 = [...verified.keys()].sort((a, b) => a - b).slice(0, k)
  const generated = decode(codec, width, s1, verified)

  // 3. Place, read back, re-derive from S2, accept or move on.
  const used = new Set(stripe.blocks.filter((b, i): b is BlockRef => b !== null && !targets.has(i)).map((b) => b.backend))
  const candidates = targetOrder(ctx, stripe, indexes, options.targetBackends)
  const refs = new Map<number, RegeneratedBlock>()
  for (const j of indexes) {
    const bytes = generated[j]!
    const checksum = ctx.codecs.checksum(bytes)
    const recorded = stripe.blocks[j]
    if (recorded && recorded.checksum !== checksum) {
      throw new StorageError('STORAGE_ERR_CORRUPT', `block ${j} of stripe ${stripeIndex} of ${objectId} rebuilt from verified blocks does not match its recorded checksum`)
    }
    // S2: S1 with its first member swapped for another verified block (read now if need be); never j.
    let s2: number[] | undefined
    while (!s2) {
      const spare = [...verified.keys()].find((i) => !s1.includes(i))
      if (spare !== undefined) s2 = [...s1.slice(1), spare]
      else if (untried.length > 0) await readMore(1)
      else break
    }
    const rederived = s2 && decode(codec, width, s2, verified)[j]
    const rejected: { backend: string; reason: 'write-failed' | 'verify-mismatch' }[] = []
    let accepted: RegeneratedBlock | undefined
    for (const backend of candidates) {
      if (used.has(backend.id)) continue
      const key = repairBlockKey(objectId, stripeIndex, j)
      const ref: BlockRef = { backend: backend.id, key, checksum }
      try {
        await putBlock(backend, key, bytes, ctx.blockTimeoutMs, options.signal)
      } catch {
        rejected.push({ backend: backend.id, reason: 'write-failed' })
        continue
      }
      const ok = await verifyPlaced(ctx, backend, ref, stripe.blockBytes, bytes, rederived, options.signal)
      if (!ok) {
        ctx.logger.warn({ objectId, stripe: stripeIndex, block: j, backend: backend.id }, 'regenerated block failed verification, regenerating elsewhere')
        rejected.push({ backend: backend.id, reason: 'verify-mismatch' })
        await backend.delete(key).catch(() => undefined)
        continue
      }
      accepted = { block: j, ref, rejected, verifiedBy: s2 ? 'k-subset' : 'checksum' }
      break
    }
    if (!accepted) {
      await deleteBlocks(ctx.backends, [...refs.values()].map((r) => r.ref))
      throw new StorageError('STORAGE_ERR_WRITE_QUORUM', `no target backend took a verified copy of block ${j} of stripe ${stripeIndex} of ${objectId} (tried ${rejected.map((r) => `${r.backend}: ${r.reason}`).join(', ') || 'none available'})`)
    }
    used.add(accepted.ref.backend)
    refs.set(j, accepted)
  }
  return { refs, faults }
}

/** Reconstructs every block of the stripe from the blocks at `subset` (exactly k of them). */
function decode(codec: { reconstruct(blocks: readonly (Uint8Array | undefined)[]): (Uint8Array | undefined)[] }, width: number, subset: readonly number[], verified: ReadonlyMap<number, Uint8Array>): (Uint8Array | undefined)[] {
  const input: (Uint8Array | undefined)[] = new Array(width).fill(undefined)
  for (const i of subset) input[i] = verified.get(i)
  return codec.reconstruct(input)
}

/** Reads the placed copy back and checks it equals both the generated bytes and the re-derivation (when one exists). */
async function verifyPlaced(ctx: RepairContext, backend: Backend, ref: BlockRef, blockBytes: number, generated: Uint8Array, rederived: Uint8Array | undefined, signal?: AbortSignal): Promise<boolean> {
  let back: Uint8Array
  try {
    back = await readBlock(backend, ref, blockBytes, ctx.blockTimeoutMs, signal)
  } catch {
    return false
  }
  // `ref.checksum` is the checksum of `generated`, so byte equality with it covers the checksum too.
  return Buffer.compare(back, generated) === 0 && (rederived === undefined || Buffer.compare(back, rederived) === 0)
}

/** Target backends in preference order (see {@link RegenerateOptions.targetBackends}). */
function targetOrder(ctx: RepairContext, stripe: StripeRecord, indexes: readonly number[], preferred?: readonly string[]): Backend[] {
  if (preferred) {
    return preferred.map((id) => {
      const b = ctx.byId.get(id)
      if (!b) throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`targetBackends\` to name backends of the store, got unknown ${JSON.stringify(id)}`)
      return b
    })
  }
  const inStripe = new Set(stripe.blocks.filter((b): b is BlockRef => b !== null).map((b) => b.backend))
  const own = indexes.map((i) => stripe.blocks[i]?.backend).filter((id): id is string => id !== undefined)
  return [...ctx.backends.filter((b) => !inStripe.has(b.id)), ...own.map((id) => ctx.byId.get(id)).filter((b): b is Backend => b !== undefined)]
}
