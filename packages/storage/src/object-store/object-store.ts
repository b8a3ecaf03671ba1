import type { Backend } from '../backend.js'
import { StorageError, isStorageError } from '../errors.js'
import { appendStripes, type AppendOptions, type AppendResult } from './append.js'
import { BufferPool } from './buffer-pool.js'
import { CodecPool } from './codec-pool.js'
import { manifestBytes, type Manifest, type StripeRecord } from './manifest.js'
import { assertObjectId } from './object-id.js'
import { resolveObjectStoreOptions, type ObjectStoreOptions, type ResolvedObjectStoreOptions } from './object-store-options.js'
import { EchoCopier } from '../read/echo-copier.js'
import { HedgedReads, type ReadStats } from '../read/hedged-reads.js'
import { readRange } from './read-range.js'
import { OpenReads } from './open-reads.js'
import { prefetchStripe, type BlockFault, type StripeReadContext } from './stripe-reader.js'

/** What {@link ObjectStore.stat} reports. */
export interface ObjectStat {
  /** Committed bytes. */
  readonly length: number
  readonly stripes: number
  /** Stripes with at least one block recorded as missing. */
  readonly degradedStripes: number
  /** Objects this one concatenates, in order (empty for a plain object). */
  readonly sources: readonly string[]
}

/** Options of {@link ObjectStore.read}. */
export interface ReadOptions {
  /** First byte, inclusive. Default 0. */
  readonly start?: number
  /** Last byte, exclusive. Default the object's length. */
  readonly end?: number
  readonly signal?: AbortSignal
  /** Told of every block that had to be read around (missing, unreadable, corrupt). */
  readonly onFault?: (fault: BlockFault) => void
  /** Told, before `read` resolves, which stripes the range covers (what the prefetcher learns from). */
  readonly onPlan?: (plan: ReadPlan) => void
  /**
   * Read through the store's echo cache (a client's download): use it and fill it. Default false,
   * so internal reads — checksums of whole uploads — do not flush what clients read.
   */
  readonly echoes?: boolean
}

/** The stripes a read covers (see {@link ReadOptions.onPlan}). */
export interface ReadPlan {
  /** Index of the stripe holding the first byte (0 for an empty read). */
  readonly firstStripe: number
  /** Index of the stripe holding the last byte (`firstStripe` for an empty read). */
  readonly lastStripe: number
  /** Stripes of the object. */
  readonly stripes: number
}

/** Options of {@link ObjectStore.prefetch}. */
export interface PrefetchOptions {
  /** First stripe to prefetch. Default 0. */
  readonly firstStripe?: number
  /** Stripes to prefetch from there (fewer when the object ends). Default 1. */
  readonly stripes?: number
  readonly signal?: AbortSignal
}

/**
 * Objects stored erasure-coded across independent backends: each stripe of k data blocks gets m
 * parity blocks on k+m distinct backends, each block with its own checksum, described by a
 * manifest per object. Any m blocks of a stripe may be lost or corrupt without losing a byte.
 *
 * Invariants (see docs/object-store.md): a committed byte is never lost to a process crash; a
 * block referenced by a live manifest is never deleted; reads never return unverified bytes.
 */
export class ObjectStore {
  readonly #backendsById: ReadonlyMap<string, Backend>
  /** Stripe buffers shared by appends: enough for two appends' pipelines. */
  readonly #buffers: BufferPool
  /** Learned backend latencies, the hedge budget and the read counters all reads share. */
  readonly #reads: HedgedReads
  readonly #copier: EchoCopier | undefined
  readonly #open = new OpenReads()

  private constructor(
    readonly options: ResolvedObjectStoreOptions,
    /** The codecs (by geometry) and block checksum this store encodes and verifies with. */
    readonly codecs: CodecPool,
  ) {
    this.#backendsById = new Map(options.backends.map((b) => [b.id, b]))
    this.#buffers = new BufferPool(2 * (options.pipelineDepth + 1))
    this.#reads = new HedgedReads(options.hedge)
    const copies = options.echoCopies
    this.#copier = copies && new EchoCopier(copies.map, copies.copies, this.#backendsById, this.#reads, options.blockTimeoutMs, options.logger)
  }

  /** Validates options (`STORAGE_ERR_INVALID_ARGUMENT`) and loads the codec. */
  static async open(options: ObjectStoreOptions): Promise<ObjectStore> {
    const resolved = resolveObjectStoreOptions(options)
    const codecs = await CodecPool.create()
    await codecs.codec(resolved.dataBlocks, resolved.parityBlocks)
    return new ObjectStore(resolved, codecs)
  }

  /** Creates an empty object. Rejects `STORAGE_ERR_CONFLICT` when `id` exists. */
  async create(id: string): Promise<void> {
    assertObjectId(id)
    await this.options.manifests.update(id, 0, { stripes: [], sources: [], referrers: [], deleted: false })
  }

  /** Length and shape of an object, or `undefined` when it does not exist (or was deleted). */
  async stat(id: string): Promise<ObjectStat | undefined> {
    const manifest = await this.#live(id)
    if (!manifest) return undefined
    return {
      length: manifestBytes(manifest),
      stripes: manifest.stripes.length,
      degradedStripes: manifest.stripes.filter((s) => s.blocks.some((b) => b === null)).length,
      sources: manifest.sources,
    }
  }

  /**
   * Appends the bytes of `source` to the object (see {@link AppendOptions} for when they are
   * committed). Rejects `STORAGE_ERR_NOT_FOUND` for an unknown object, `STORAGE_ERR_WRITE_QUORUM`
   * when too few backends take a stripe (stripes committed before stay committed).
   */
  async append(id: string, source: AsyncIterable<Uint8Array>, options: AppendOptions = {}): Promise<AppendResult> {
    const manifest = await this.#live(id)
    if (!manifest) throw new StorageError('STORAGE_ERR_NOT_FOUND', `no object ${id}`)
    if (manifest.sources.length > 0) throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `object ${id} is a concatenation and cannot be appended to`)
    return appendStripes({ options: this.options, codecs: this.codecs, buffers: this.#buffers }, id, manifestBytes(manifest), manifest.stripes.length, source, options)
  }

  /**
   * Streams bytes `[start, end)` of an object. The manifest is read once, when called; blocks are
   * verified and read around as needed. Rejects `STORAGE_ERR_NOT_FOUND`, or
   * `STORAGE_ERR_INVALID_ARGUMENT` for a range outside the object; the stream fails
   * `STORAGE_ERR_UNRECOVERABLE` where more than m blocks of a stripe are lost.
   */
  async read(id: string, options: ReadOptions = {}): Promise<AsyncGenerator<Uint8Array>> {
    const manifest = await this.#live(id)
    if (!manifest) throw new StorageError('STORAGE_ERR_NOT_FOUND', `no object ${id}`)
    const length = manifestBytes(manifest)
    const start = options.start ?? 0
    const end = options.end ?? length
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= length)) {
      throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `range [${start}, ${end}) is outside object ${id} of ${length} bytes`)
    }
    options.onPlan?.(planOf(manifest.stripes, start, end))
    return this.#counted(
      id,
      readRange(manifest.stripes, start, end, {
        ...this.#readContext(id, options.signal),
        readAheadStripes: this.options.readAheadStripes,
        ...(options.echoes && this.options.echoes && { echoes: this.options.echoes, ...(this.#copier && { copier: this.#copier }) }),
        ...(options.onFault && { onFault: options.onFault }),
      }),
    )
  }

  /**
   * Resolves true once every read of `id` running now — a {@link read} stream being iterated, a
   * {@link prefetch} — has ended, or false after `timeoutMs` with some still running. Reads started
   * later loaded a later manifest. What a move waits for before it deletes the block it replaced
   * (`migrateBlock`'s `drainReadsMs`), so that no read finds its block gone.
   */
  readsSettled(id: string, timeoutMs: number): Promise<boolean> {
    return this.#open.settled(id, timeoutMs)
  }

  /** `inner`, counted as a read of `id` from its first `next()` to its end (a stream never iterated read nothing). */
  async *#counted(id: string, inner: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
    const end = this.#open.begin(id)
    try {
      yield* inner
    } finally {
      end()
    }
  }

  /**
   * Reads stripes of an object into the store's echo cache ahead of a read predicted to want them
   * (a no-op without `echoes`, for stripes already there, or for an object that is gone). Resolves
   * the bytes read. Rejects like {@link read}'s stream (`STORAGE_ERR_UNRECOVERABLE`, `STORAGE_ERR_ABORTED`).
   */
  async prefetch(id: string, options: PrefetchOptions = {}): Promise<number> {
    const echoes = this.options.echoes
    const manifest = echoes && (await this.#live(id))
    if (!manifest) return 0
    const first = options.firstStripe ?? 0
    const last = Math.min(manifest.stripes.length, first + (options.stripes ?? 1))
    const ctx = this.#readContext(id, options.signal)
    const end = this.#open.begin(id)
    try {
      let bytes = 0
      for (let s = first; s < last; s++) bytes += await prefetchStripe(manifest.stripes[s]!, echoes, { ...ctx, stripeIndex: s })
      return bytes
    } finally {
      end()
    }
  }

  /** What every stripe read of object `id` is given: the backends, codecs, deadline, logger and the shared hedging state. */
  #readContext(id: string, signal: AbortSignal | undefined): Omit<StripeReadContext, 'stripeIndex'> {
    return {
      objectId: id,
      backends: this.#backendsById,
      codecs: this.codecs,
      blockTimeoutMs: this.options.blockTimeoutMs,
      logger: this.options.logger,
      reads: this.#reads,
      ...(this.options.onBlockRead && { onBlockRead: this.options.onBlockRead }),
      ...(signal && { signal }),
    }
  }

  /** What reads did so far: blocks read and needed, hedges, reads around failures, each backend's learned latency. */
  readStats(): ReadStats {
    return { ...this.#reads.stats(), ...(this.#copier && { echoCopies: this.#copier.stats() }) }
  }

  /**
   * Creates `id` as the concatenation of `sources` without copying data: its manifest lists their
   * stripes. The sources' blocks then live until both they and `id` are deleted. Rejects
   * `STORAGE_ERR_CONFLICT` when `id` exists, `STORAGE_ERR_NOT_FOUND` for an unknown source.
   */
  async concat(id: string, sources: readonly string[]): Promise<void> {
    assertObjectId(id)
    const stripes: StripeRecord[] = []
    for (const source of sources) {
      const manifest = await this.#live(source)
      if (!manifest) throw new StorageError('STORAGE_ERR_NOT_FOUND', `no object ${source} to concatenate`)
      stripes.push(...manifest.stripes)
    }
    // Referrers first: a crash before the final manifest exists leaks blocks, never loses them.
    for (const source of new Set(sources)) await this.#editReferrers(source, (r) => (r.includes(id) ? r : [...r, id]))
    await this.options.manifests.update(id, 0, { stripes, sources: [...sources], referrers: [], deleted: false })
  }

  /**
   * Deletes an object. Its blocks are removed unless a concatenation still reads them, in which
   * case it disappears for callers and its blocks go when the last referrer is deleted. Idempotent.
   */
  async delete(id: string): Promise<void> {
    assertObjectId(id)
    this.options.echoes?.invalidate(id)
    const manifest = await this.options.manifests.get(id)
    if (!manifest) return
    if (manifest.referrers.length > 0) {
      if (!manifest.deleted) await this.options.manifests.update(id, manifest.version, { ...manifest, deleted: true })
      return
    }
    await this.#purge(id, manifest)
  }

  async #purge(id: string, manifest: Manifest): Promise<void> {
    // Before the keys go: echo copies still being written then delete themselves instead.
    await this.#copier?.drop(id)
    // Every block this object owns — committed, or staged by an append a crash cut short — and
    // every segment sits under its key prefix; blocks it reads from its sources are theirs.
    await Promise.all(
      this.options.backends.map(async (backend) => {
        try {
          for await (const key of backend.list(`${id}/`)) await backend.delete(key).catch(() => undefined)
        } catch {
          // An unavailable backend keeps its orphans; they are unreferenced and harmless.
        }
      }),
    )
    await this.options.manifests.delete(id)
    for (const source of new Set(manifest.sources)) {
      const after = await this.#editReferrers(source, (r) => r.filter((x) => x !== id))
      if (after && after.deleted && after.referrers.length === 0) await this.#purge(source, after)
    }
  }

  /** Applies `edit` to a manifest's referrers with optimistic concurrency (retried on conflict). */
  async #editReferrers(id: string, edit: (referrers: readonly string[]) => readonly string[]): Promise<Manifest | undefined> {
    for (;;) {
      const manifest = await this.options.manifests.get(id)
      if (!manifest) return undefined
      try {
        return await this.options.manifests.update(id, manifest.version, { ...manifest, referrers: edit(manifest.referrers) })
      } catch (err) {
        if (!isStorageError(err, 'STORAGE_ERR_CONFLICT')) throw err
      }
    }
  }

  async #live(id: string): Promise<Manifest | undefined> {
    assertObjectId(id)
    const manifest = await this.options.manifests.get(id)
    return manifest && !manifest.deleted ? manifest : undefined
  }
}

/** The stripes `[start, end)` covers. */
function planOf(stripes: readonly StripeRecord[], start: number, end: number): ReadPlan {
  const at = (byte: number): number => {
    let offset = 0
    for (let i = 0; i < stripes.length; i++) {
      offset += stripes[i]!.bytes
      if (byte < offset) return i
    }
    return Math.max(0, stripes.length - 1)
  }
  const firstStripe = at(start)
  return { firstStripe, lastStripe: end > start ? at(end - 1) : firstStripe, stripes: stripes.length }
}
