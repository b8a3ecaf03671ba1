import { integerOption } from '../invalid-option.js'
import type { BlockRef } from '../object-store/manifest.js'

/** Options of {@link EchoCache}. */
export interface EchoCacheOptions {
  /** Byte budget of the cached blocks; 0 caches nothing. */
  readonly maxBytes: number
  /**
   * Block ids remembered as seen once (not cached yet): a block is cached on its second read
   * within that memory, so one pass over a cold object does not flush the hot ones; 0 caches
   * every block at its first read. Default 65 536 (≈ 6 MiB of ids).
   */
  readonly doorkeeperEntries?: number
}

/** What {@link EchoCache.stats} reports (JSON). */
export interface EchoCacheStats {
  readonly maxBytes: number
  /** Bytes of blocks held now (≤ maxBytes). */
  readonly bytes: number
  readonly blocks: number
  /** Block reads served from memory. */
  readonly hits: number
  /** Block reads that had to go to the backends. */
  readonly misses: number
  /** hits / (hits + misses); 0 before any read. */
  readonly hitRate: number
  /** Blocks dropped to stay within the budget. */
  readonly evicted: number
  /** Blocks dropped because their object was deleted. */
  readonly invalidated: number
  /** Blocks stored by the prefetcher before any read asked for them. */
  readonly prefetched: number
  /** Prefetched blocks a read then used. */
  readonly prefetchUsed: number
  /** Prefetched blocks dropped (evicted or invalidated) without being read. */
  readonly prefetchWasted: number
  /** prefetchUsed / (prefetchUsed + prefetchWasted); 0 before either. */
  readonly prefetchPrecision: number
}

interface Entry {
  readonly bytes: Uint8Array
  readonly owners: Set<string>
  /** Stored by the prefetcher and not read since. */
  prefetched: boolean
}

/**
 * Echoes in memory: verified data blocks, by the identity of the stored block (its backend, key,
 * offset and checksum — so an entry can never stand for other bytes: a re-upload or a repaired
 * block has another identity), within a byte budget, least recently used first out. Admission: a block
 * read once is only remembered; its second read caches it; a prefetched block is cached at once.
 * Blocks are dropped when an object that read them is deleted ({@link invalidate}).
 */
export class EchoCache {
  readonly maxBytes: number
  readonly #doorkeeperEntries: number
  /** In LRU order: the first is the next out. */
  readonly #entries = new Map<string, Entry>()
  readonly #byObject = new Map<string, Set<string>>()
  readonly #seen = new Set<string>()
  #bytes = 0
  #counts = { hits: 0, misses: 0, evicted: 0, invalidated: 0, prefetched: 0, prefetchUsed: 0, prefetchWasted: 0 }

  /** @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` naming the option. */
  constructor(options: EchoCacheOptions) {
    this.maxBytes = integerOption('maxBytes', options.maxBytes, 0)
    this.#doorkeeperEntries = integerOption('doorkeeperEntries', options.doorkeeperEntries ?? 65_536, 0)
  }

  /** The id of the stored block `ref` (the cache key): where it is, and its checksum. */
  static idOf(ref: BlockRef): string {
    return `${ref.backend}:${ref.key}:${ref.offset ?? ''}:${ref.checksum}`
  }

  /** The cached block, counted as a hit (and made most recent), or `undefined`, counted as a miss. */
  get(id: string): Uint8Array | undefined {
    const entry = this.#entries.get(id)
    if (!entry) {
      this.#counts.misses++
      return undefined
    }
    this.#counts.hits++
    if (entry.prefetched) {
      entry.prefetched = false
      this.#counts.prefetchUsed++
    }
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    return entry.bytes
  }

  /** Whether `id` is cached (not counted, order unchanged). */
  has(id: string): boolean {
    return this.#entries.has(id)
  }

  /**
   * Offers a verified block that `objectId` read: cached on its second offer (or at once when
   * `prefetched`), copied when it is a view of a larger buffer so the budget counts what it holds.
   * Resolves whether a read made it hot just now (cached, not prefetched).
   */
  offer(id: string, objectId: string, bytes: Uint8Array, prefetched = false): boolean {
    const present = this.#entries.get(id)
    if (present) {
      this.#own(id, objectId, present)
      return false
    }
    if (bytes.byteLength > this.maxBytes) return false
    if (!prefetched && this.#doorkeeperEntries > 0 && !this.#seen.delete(id)) {
      this.#seen.add(id)
      if (this.#seen.size > this.#doorkeeperEntries) this.#seen.delete(this.#seen.values().next().value!)
      return false
    }
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : Uint8Array.from(bytes)
    const entry: Entry = { bytes: own, owners: new Set(), prefetched }
    this.#entries.set(id, entry)
    this.#own(id, objectId, entry)
    this.#bytes += own.byteLength
    if (prefetched) this.#counts.prefetched++
    while (this.#bytes > this.maxBytes) this.#drop(this.#entries.keys().next().value!, 'evicted')
    return !prefetched
  }

  /** Drops every block `objectId` read (its deletion, termination or expiry). */
  invalidate(objectId: string): void {
    const ids = this.#byObject.get(objectId)
    if (!ids) return
    this.#byObject.delete(objectId)
    for (const id of ids) {
      const entry = this.#entries.get(id)
      if (!entry) continue
      entry.owners.delete(objectId)
      if (entry.owners.size === 0) this.#drop(id, 'invalidated')
    }
  }

  /** Counters since construction and what is held now (a snapshot). */
  stats(): EchoCacheStats {
    const c = this.#counts
    const lookups = c.hits + c.misses
    const judged = c.prefetchUsed + c.prefetchWasted
    return {
      maxBytes: this.maxBytes,
      bytes: this.#bytes,
      blocks: this.#entries.size,
      ...c,
      hitRate: lookups === 0 ? 0 : c.hits / lookups,
      prefetchPrecision: judged === 0 ? 0 : c.prefetchUsed / judged,
    }
  }

  #own(id: string, objectId: string, entry: Entry): void {
    entry.owners.add(objectId)
    let ids = this.#byObject.get(objectId)
    if (!ids) this.#byObject.set(objectId, (ids = new Set()))
    ids.add(id)
  }

  #drop(id: string, why: 'evicted' | 'invalidated'): void {
    const entry = this.#entries.get(id)!
    this.#entries.delete(id)
    this.#bytes -= entry.bytes.byteLength
    this.#counts[why]++
    if (entry.prefetched) this.#counts.prefetchWasted++
    for (const owner of entry.owners) {
      const ids = this.#byObject.get(owner)
      ids?.delete(id)
      if (ids?.size === 0) this.#byObject.delete(owner)
    }
  }
}
