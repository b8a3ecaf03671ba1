import type { Backend } from '../backend.js'
import { StorageError, isStorageError } from '../errors.js'
import { putBlock, readBlock } from '../object-store/block-io.js'
import type { BlockRef, StripeRecord } from '../object-store/manifest.js'
import type { ObjectStore } from '../object-store/object-store.js'
import { regenerateBlocks } from './regenerate-blocks.js'
import { commitStripe, deleteReplaced, loadStripe, readVerified, repairBlockKey, repairContext, sameRef, type RepairContext } from './repair-context.js'

/** What {@link migrateBlock} did. */
export interface MigrationResult {
  readonly objectId: string
  readonly stripe: number
  readonly block: number
  readonly from: BlockRef
  readonly to: BlockRef
  /** `copy`: the block was read and copied; `regenerate`: it was unreadable or corrupt, so it was rebuilt from the others. */
  readonly via: 'copy' | 'regenerate'
  /** The old block was deleted (false for a block inside a segment, or of a shared stripe). */
  readonly deletedOld: boolean
  /**
   * With `drainReadsMs`: every read of the object that was running at the commit had ended before
   * the old block was deleted (false: some were still running after `drainReadsMs`; they read
   * around the deleted block). True without the option.
   */
  readonly readsDrained: boolean
  readonly version: number
}

/** Options of {@link migrateBlock} and {@link BlockMigration.cleanup}. */
export interface MigrationOptions {
  readonly signal?: AbortSignal
  /**
   * Before deleting the old block, wait up to this long, ms, for the reads of the object running
   * at the commit ({@link ObjectStore.readsSettled}): they loaded the manifest that still names the
   * old block. 0 (default) deletes at once — such a read then finds it gone and reads around it.
   */
  readonly drainReadsMs?: number
}

/**
 * One block's move off a backend, as separate steps, so a caller (or a test) can stop after any of
 * them and the object is still readable: `copy()` → `verify()` → `commit()` → `cleanup()`.
 * - after `copy` / `verify`: the new copy is unreferenced (swept with the object); the manifest still
 *   points at the old block;
 * - after `commit`: the manifest points at the new copy (conditional update, retried on conflict);
 *   the old block is unreferenced;
 * - `cleanup` deletes the old block if it is a whole block owned by this object and no concatenation
 *   reads the object's stripes (a block inside a segment is left for the segment's owner).
 */
export class BlockMigration {
  #bytes: Uint8Array | undefined
  #verified = false
  #version: number | undefined
  #deletedOld = false
  #readsDrained = true

  private constructor(
    private readonly ctx: RepairContext,
    readonly objectId: string,
    readonly stripeIndex: number,
    readonly blockIndex: number,
    private readonly stripe: StripeRecord,
    readonly from: BlockRef,
    readonly to: BlockRef & { readonly backend: string },
    private readonly target: Backend,
  ) {}

  /**
   * Plans a move of block `blockIndex` of stripe `stripeIndex` to `targetBackend` (which must not
   * hold another block of the stripe). No I/O on blocks.
   * @throws StorageError `STORAGE_ERR_NOT_FOUND`, `STORAGE_ERR_INVALID_ARGUMENT`.
   */
  static async plan(store: ObjectStore, objectId: string, stripeIndex: number, blockIndex: number, targetBackend: string): Promise<BlockMigration> {
    const ctx = await repairContext(store)
    const { stripe } = await loadStripe(ctx, objectId, stripeIndex)
    const from = stripe.blocks[blockIndex]
    if (!from) throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `block ${blockIndex} of stripe ${stripeIndex} of ${objectId} is missing or out of range: regenerate it instead`)
    const target = ctx.byId.get(targetBackend)
    if (!target) throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`targetBackend\` to be a backend of the store, got ${JSON.stringify(targetBackend)}`)
    if (stripe.blocks.some((b, i) => i !== blockIndex && b?.backend === targetBackend) || from.backend === targetBackend) {
      throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `backend ${targetBackend} already holds a block of stripe ${stripeIndex} of ${objectId}`)
    }
    const to = { backend: targetBackend, key: repairBlockKey(objectId, stripeIndex, blockIndex), checksum: from.checksum }
    return new BlockMigration(ctx, objectId, stripeIndex, blockIndex, stripe, from, to, target)
  }

  /**
   * Step 1: reads the old block (checked against its checksum) and writes it to the target.
   * @throws StorageError `STORAGE_ERR_CORRUPT` / `STORAGE_ERR_UNAVAILABLE` when the old block cannot be
   *   read intact (then regenerate it instead), or the target's write error.
   */
  async copy(signal?: AbortSignal): Promise<void> {
    const got = await readVerified(this.ctx, this.stripe, this.blockIndex, signal)
    if (typeof got === 'string') {
      throw new StorageError(got === 'corrupt' ? 'STORAGE_ERR_CORRUPT' : 'STORAGE_ERR_UNAVAILABLE', `block ${this.blockIndex} of stripe ${this.stripeIndex} of ${this.objectId} is ${got}`)
    }
    await putBlock(this.target, this.to.key, got, this.ctx.blockTimeoutMs, signal)
    this.#bytes = got
  }

  /** Step 2: reads the copy back and checks its checksum. @throws StorageError `STORAGE_ERR_CORRUPT` on a mismatch (the copy is deleted). */
  async verify(signal?: AbortSignal): Promise<void> {
    if (!this.#bytes) throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', 'verify() before copy()')
    let back: Uint8Array | undefined
    try {
      back = await readBlock(this.target, this.to, this.stripe.blockBytes, this.ctx.blockTimeoutMs, signal)
    } catch (err) {
      if (!isStorageError(err)) throw err
    }
    if (!back || this.ctx.codecs.checksum(back) !== this.to.checksum) {
      await this.target.delete(this.to.key).catch(() => undefined)
      throw new StorageError('STORAGE_ERR_CORRUPT', `the copy of block ${this.blockIndex} of stripe ${this.stripeIndex} of ${this.objectId} on ${this.target.id} does not read back intact`)
    }
    this.#verified = true
  }

  /**
   * Step 3: points the manifest at the copy (conditional update, retried on conflict while the
   * block is still the one this migration copied). @throws StorageError `STORAGE_ERR_CONFLICT` when it
   * is not (someone else moved or repaired it; the copy is deleted).
   */
  async commit(): Promise<void> {
    if (!this.#verified) throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', 'commit() before verify()')
    const committed = await commitStripe(
      this.ctx,
      this.objectId,
      this.stripeIndex,
      (current) => sameRef(current.blocks[this.blockIndex], this.from) && !current.blocks.some((b, i) => i !== this.blockIndex && b?.backend === this.to.backend),
      (current) => ({ ...current, blocks: current.blocks.map((b, i) => (i === this.blockIndex ? this.to : b)) }),
    )
    if (!committed) {
      await this.target.delete(this.to.key).catch(() => undefined)
      throw new StorageError('STORAGE_ERR_CONFLICT', `block ${this.blockIndex} of stripe ${this.stripeIndex} of ${this.objectId} changed during the migration; nothing committed`)
    }
    this.#version = committed.manifest.version
  }

  /** Step 4: deletes the old block when it is safe to (see the class comment), after the reads that may still read it (`drainReadsMs`). */
  async cleanup(options: Pick<MigrationOptions, 'drainReadsMs'> = {}): Promise<void> {
    if (this.#version === undefined) throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', 'cleanup() before commit()')
    const drainMs = options.drainReadsMs ?? 0
    if (drainMs > 0) this.#readsDrained = await this.ctx.readsSettled(this.objectId, drainMs)
    const manifest = await this.ctx.manifests.get(this.objectId)
    if (!manifest) return
    this.#deletedOld = (await deleteReplaced(this.ctx, this.objectId, manifest, [this.from])).length > 0
  }

  /** The outcome once all steps ran. */
  get result(): MigrationResult {
    return { objectId: this.objectId, stripe: this.stripeIndex, block: this.blockIndex, from: this.from, to: this.to, via: 'copy', deletedOld: this.#deletedOld, readsDrained: this.#readsDrained, version: this.#version ?? -1 }
  }
}

/**
 * Moves one block off its backend: copy → verify checksum → atomic manifest update → delete the old
 * block (see {@link BlockMigration}; with `drainReadsMs`, once the reads that may still read it have ended). A block that cannot be read intact is regenerated onto the
 * target from the other blocks instead ({@link regenerateBlocks}). A crash at any step leaves the
 * object readable (at worst an unreferenced copy or old block, swept with the object).
 * @throws StorageError as {@link BlockMigration} and {@link regenerateBlocks}.
 */
export async function migrateBlock(store: ObjectStore, objectId: string, stripeIndex: number, blockIndex: number, targetBackend: string, options: MigrationOptions = {}): Promise<MigrationResult> {
  const migration = await BlockMigration.plan(store, objectId, stripeIndex, blockIndex, targetBackend)
  try {
    await migration.copy(options.signal)
  } catch (err) {
    if (!isStorageError(err, 'STORAGE_ERR_CORRUPT', 'STORAGE_ERR_UNAVAILABLE', 'STORAGE_ERR_NOT_FOUND') || options.signal?.aborted) throw err
    const regenerated = await regenerateBlocks(store, objectId, stripeIndex, [blockIndex], { targetBackends: [targetBackend], ...(options.signal && { signal: options.signal }) })
    const to = regenerated.regenerated[0]!.ref
    return { objectId, stripe: stripeIndex, block: blockIndex, from: migration.from, to, via: 'regenerate', deletedOld: regenerated.deleted.length > 0, readsDrained: true, version: regenerated.version }
  }
  await migration.verify(options.signal)
  await migration.commit()
  await migration.cleanup(options)
  return migration.result
}
