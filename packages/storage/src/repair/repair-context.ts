import { randomBytes } from 'node:crypto'
import type { Backend } from '../backend.js'
import { StorageError, isStorageError } from '../errors.js'
import type { Logger } from '../logger.js'
import { readVerifiedBlock, type BlockFault } from '../object-store/stripe-reader.js'
import type { CodecPool } from '../object-store/codec-pool.js'
import type { BlockRef, Manifest, StripeRecord } from '../object-store/manifest.js'
import type { ManifestStore } from '../object-store/manifest-store.js'
import type { ObjectStore } from '../object-store/object-store.js'

/** What the repair functions use of an {@link ObjectStore}. Internal. */
export interface RepairContext {
  readonly backends: readonly Backend[]
  readonly byId: ReadonlyMap<string, Backend>
  readonly manifests: ManifestStore
  readonly codecs: CodecPool
  readonly blockTimeoutMs: number
  readonly logger: Logger
  /** {@link ObjectStore.readsSettled} of the store. */
  readonly readsSettled: (objectId: string, timeoutMs: number) => Promise<boolean>
}

const contexts = new WeakMap<ObjectStore, RepairContext>()

/** The repair context of a store: its backends, manifests and codecs. */
export function repairContext(store: ObjectStore): RepairContext {
  let ctx = contexts.get(store)
  if (!ctx) {
    const o = store.options
    ctx = {
      backends: o.backends,
      byId: new Map(o.backends.map((b) => [b.id, b])),
      manifests: o.manifests,
      codecs: store.codecs,
      blockTimeoutMs: o.blockTimeoutMs,
      logger: o.logger,
      readsSettled: (objectId, timeoutMs) => store.readsSettled(objectId, timeoutMs),
    }
    contexts.set(store, ctx)
  }
  return ctx
}

/** The live manifest and stripe, or `STORAGE_ERR_NOT_FOUND` / `STORAGE_ERR_INVALID_ARGUMENT`. */
export async function loadStripe(ctx: RepairContext, objectId: string, stripeIndex: number): Promise<{ manifest: Manifest; stripe: StripeRecord }> {
  const manifest = await ctx.manifests.get(objectId)
  if (!manifest || manifest.deleted) throw new StorageError('STORAGE_ERR_NOT_FOUND', `no object ${objectId}`)
  const stripe = manifest.stripes[stripeIndex]
  if (!Number.isInteger(stripeIndex) || !stripe) {
    throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`stripeIndex\` to be an integer from 0 to ${manifest.stripes.length - 1}, got \`${String(stripeIndex)}\``)
  }
  return { manifest, stripe }
}

/** Why a block could not be used. */
export type BlockProblem = BlockFault['kind']

/** Reads one block of a stripe and checks size and checksum; resolves the bytes or what is wrong with it. */
export async function readVerified(ctx: RepairContext, stripe: StripeRecord, index: number, signal?: AbortSignal): Promise<Uint8Array | BlockProblem> {
  const got = await readVerifiedBlock(stripe, index, { backends: ctx.byId, codecs: ctx.codecs, blockTimeoutMs: ctx.blockTimeoutMs, ...(signal && { signal }) })
  return got instanceof Uint8Array ? got : got.kind
}

/** A fresh key for a block written by repair, under the object's prefix (so deleting the object sweeps it). */
export function repairBlockKey(objectId: string, stripeIndex: number, blockIndex: number): string {
  return `${objectId}/r${stripeIndex}.${blockIndex}-${randomBytes(6).toString('base64url')}`
}

/** Same physical block (backend, key, offset). */
export function sameRef(a: BlockRef | null | undefined, b: BlockRef | null | undefined): boolean {
  if (!a || !b) return !a && !b
  return a.backend === b.backend && a.key === b.key && a.offset === b.offset && a.checksum === b.checksum
}

/**
 * Replaces stripe `stripeIndex` of `objectId` with `edit(current)` by a conditional manifest update;
 * on `STORAGE_ERR_CONFLICT` re-reads and retries, as long as `stillValid(current)` holds for the
 * re-read stripe (else resolves `undefined`: someone else changed what this edit was based on).
 */
export async function commitStripe(
  ctx: RepairContext,
  objectId: string,
  stripeIndex: number,
  stillValid: (current: StripeRecord) => boolean,
  edit: (current: StripeRecord) => StripeRecord,
  maxAttempts = 16,
): Promise<{ manifest: Manifest; conflicts: number } | undefined> {
  let conflicts = 0
  for (;;) {
    const manifest = await ctx.manifests.get(objectId)
    if (!manifest || manifest.deleted) return undefined
    const current = manifest.stripes[stripeIndex]
    if (!current || !stillValid(current)) return undefined
    const stripes = manifest.stripes.slice()
    stripes[stripeIndex] = edit(current)
    try {
      const { version: _v, ...rest } = manifest
      const next = await ctx.manifests.update(objectId, manifest.version, { ...rest, stripes })
      return { manifest: next, conflicts }
    } catch (err) {
      if (!isStorageError(err, 'STORAGE_ERR_CONFLICT')) throw err
      conflicts++
      ctx.logger.info({ objectId, stripe: stripeIndex, conflicts }, 'manifest changed under repair, retrying')
      if (conflicts >= maxAttempts) throw err
    }
  }
}

/**
 * Deletes blocks a committed repair replaced — only whole blocks (no `offset`: a segment holds other
 * blocks and goes with its object), only under the object's own prefix (a concatenation's blocks
 * belong to its sources), and only when no other manifest reads the object's stripes (`referrers`).
 * Resolves the refs it deleted; failures are logged and left behind (unreferenced, swept with the object).
 */
export async function deleteReplaced(ctx: RepairContext, objectId: string, manifest: Manifest, refs: readonly (BlockRef | null)[]): Promise<BlockRef[]> {
  const deleted: BlockRef[] = []
  if (manifest.referrers.length > 0) return deleted
  const stillUsed = new Set(manifest.stripes.flatMap((s) => s.blocks.filter((b): b is BlockRef => b !== null).map((b) => `${b.backend}\0${b.key}`)))
  for (const ref of refs) {
    if (!ref || ref.offset !== undefined || !ref.key.startsWith(`${objectId}/`) || stillUsed.has(`${ref.backend}\0${ref.key}`)) continue
    const backend = ctx.byId.get(ref.backend)
    try {
      await backend?.delete(ref.key)
      deleted.push(ref)
    } catch (err) {
      ctx.logger.warn({ objectId, backend: ref.backend, key: ref.key, code: (err as StorageError).code }, 'could not delete a replaced block, leaving it')
    }
  }
  return deleted
}
