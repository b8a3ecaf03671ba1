import type { HotBlock } from '@tessera/durability'
import type { BlockRead } from '@tessera/storage'
import { LruMap } from '../reconciliation/lru-map.js'

/** Half-life of a block's read count, ms: a block read steadily at r/s settles at r · half-life / ln 2. */
const HALF_LIFE_MS = 60_000

interface Heat {
  readonly objectId: string
  readonly stripe: number
  readonly block: number
  readonly backend: string
  score: number
  atMs: number
}

/**
 * Which blocks load which backend: every block read the store starts on a backend
 * (`ObjectStoreOptions.onBlockRead`; echo hits put no load on one and are not counted) adds 1 to
 * the score of (block, backend), which halves every minute. Bounded: past `maxEntries` the block
 * read longest ago is forgotten. The rebalancing's input of hot blocks ({@link hottest}).
 */
export class BlockHeat {
  readonly #entries: LruMap<string, Heat>

  /** @param maxEntries Blocks remembered at most (≈ 150 bytes each). */
  constructor(maxEntries = 50_000) {
    this.#entries = new LruMap(maxEntries)
  }

  /** Counts one block read at `nowMs` (monotonic ms). */
  record(read: BlockRead, nowMs: number): void {
    const id = `${read.backend}|${read.stripe}|${read.block}|${read.objectId}`
    const heat = this.#entries.get(id)
    if (heat) {
      heat.score = decayed(heat, nowMs) + 1
      heat.atMs = nowMs
      return
    }
    this.#entries.set(id, { objectId: read.objectId, stripe: read.stripe, block: read.block, backend: read.backend, score: 1, atMs: nowMs })
  }

  /** The `limit` hottest (block, backend) pairs at `nowMs`, hottest first, with their reads per second. */
  hottest(limit: number, nowMs: number): HotBlock[] {
    return [...this.#entries.entries()]
      .map(([, h]) => ({ objectId: h.objectId, stripe: h.stripe, block: h.block, backend: h.backend, readsPerSecond: (decayed(h, nowMs) * Math.LN2 * 1000) / HALF_LIFE_MS }))
      .sort((a, b) => b.readsPerSecond - a.readsPerSecond)
      .slice(0, limit)
  }
}

function decayed(h: Heat, nowMs: number): number {
  return h.score * 2 ** (-Math.max(0, nowMs - h.atMs) / HALF_LIFE_MS)
}
