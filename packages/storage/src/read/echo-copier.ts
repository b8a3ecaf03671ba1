import { createHash } from 'node:crypto'
import type { Backend } from '../backend.js'
import type { Logger } from '../logger.js'
import { putBlock } from '../object-store/block-io.js'
import type { BlockRef } from '../object-store/manifest.js'
import { EchoCache } from './echo-cache.js'
import type { FileEchoMap } from './echo-map.js'
import type { HedgedReads } from './hedged-reads.js'

/** Hot blocks being copied at once. */
const MAX_IN_FLIGHT = 2
/** Hot blocks waiting to be copied (each holds its bytes, which the echo cache holds too); beyond, a block waits for a later read. */
const MAX_WAITING = 16

/** What {@link EchoCopier.stats} reports (JSON). */
export interface EchoCopyStats {
  /** Copies per hot block (`--echo-backend-copies`). */
  readonly copiesPerBlock: number
  /** Copies in the echo map now. */
  readonly held: number
  /** Copies written since start. */
  readonly made: number
  /** Copies that could not be written. */
  readonly failed: number
  /** Block reads served from a copy because the block's own backend was predicted slow. */
  readonly reads: number
}

/**
 * Echo copies on other backends (seed 002): a block that became hot (cached in memory on its
 * second read) is copied, in the background, to the `copiesPerBlock` other backends predicted
 * fastest, under a key of the object that owns it (so the copy goes when the object is purged),
 * and recorded in the {@link FileEchoMap}. A read whose block's backend is predicted slow reads a
 * copy on a faster backend instead — verified against the same checksum — rather than decoding.
 */
export class EchoCopier {
  /** Block id → the object owning it, for the copies being written. */
  readonly #inFlight = new Map<string, string>()
  readonly #waiting: { ref: BlockRef; bytes: Uint8Array }[] = []
  /** Objects purged while copies of their blocks were being written: those copies are deleted, not recorded. */
  readonly #dropped = new Set<string>()
  #counts = { made: 0, failed: 0, reads: 0 }

  constructor(
    readonly map: FileEchoMap,
    readonly copiesPerBlock: number,
    private readonly backends: ReadonlyMap<string, Backend>,
    private readonly reads: HedgedReads,
    private readonly blockTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** `bytes` (the verified stored block of `ref`) is hot (cached, or read from memory): copies it in the background unless it has its copies. */
  offer(ref: BlockRef, bytes: Uint8Array): void {
    if (this.map.copiesOf(EchoCache.idOf(ref)).length >= this.copiesPerBlock) return
    if (this.#inFlight.size < MAX_IN_FLIGHT) this.#copy(ref, bytes)
    else if (this.#waiting.length < MAX_WAITING) this.#waiting.push({ ref, bytes })
  }

  /** Resolves once no copy is being written or waiting (shutdown, tests). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0 || this.#waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, 5))
  }

  #copy(ref: BlockRef, bytes: Uint8Array): void {
    const id = EchoCache.idOf(ref)
    const have = this.map.copiesOf(id)
    if (have.length >= this.copiesPerBlock || this.#inFlight.has(id)) return this.#next()
    const owner = ref.key.slice(0, ref.key.indexOf('/'))
    const targets = [...this.backends.keys()]
      .filter((b) => b !== ref.backend && !have.some((c) => c.backend === b))
      .sort((a, b) => this.reads.latency.predictedMs(a) - this.reads.latency.predictedMs(b))
      .slice(0, this.copiesPerBlock - have.length)
    if (owner === '' || targets.length === 0) return this.#next()
    const key = `${ref.key}.e${createHash('sha1').update(id).digest('hex').slice(0, 16)}`
    this.#inFlight.set(id, owner)
    const copy = async (backend: string): Promise<void> => {
      try {
        await putBlock(this.backends.get(backend)!, key, bytes, this.blockTimeoutMs)
        if (this.#dropped.has(owner)) return void (await this.backends.get(backend)!.delete(key).catch(() => undefined))
        await this.map.add(owner, id, { backend, key })
        this.#counts.made++
      } catch (err) {
        this.#counts.failed++
        this.logger.warn({ objectId: owner, backend, code: (err as { code?: string }).code }, 'echo copy failed')
      }
    }
    void Promise.all(targets.map(copy)).finally(() => {
      this.#inFlight.delete(id)
      if (![...this.#inFlight.values()].includes(owner)) this.#dropped.delete(owner)
      this.#next()
    })
  }

  /**
   * Forgets `owner`'s copies (it is being purged, and the copies under its keys with it): drops its
   * waiting blocks, makes copies still being written delete themselves, and clears its map entries.
   */
  async drop(owner: string): Promise<void> {
    for (let i = this.#waiting.length - 1; i >= 0; i--) if (this.#waiting[i]!.ref.key.startsWith(`${owner}/`)) this.#waiting.splice(i, 1)
    if ([...this.#inFlight.values()].includes(owner)) this.#dropped.add(owner)
    await this.map.dropObject(owner)
  }

  #next(): void {
    const job = this.#waiting.shift()
    if (job) this.#copy(job.ref, job.bytes)
  }

  /** The ref to read for stored block `ref`: itself, or — when its backend is predicted slow — a copy on a backend predicted faster. */
  source(ref: BlockRef): BlockRef {
    if (!this.reads.isSlow(ref.backend)) return ref
    const own = this.reads.latency.predictedMs(ref.backend)
    let best: { backend: string; key: string; ms: number } | undefined
    for (const c of this.map.copiesOf(EchoCache.idOf(ref))) {
      const ms = this.reads.latency.predictedMs(c.backend)
      if (this.backends.has(c.backend) && ms < own && (!best || ms < best.ms)) best = { ...c, ms }
    }
    if (!best) return ref
    this.#counts.reads++
    return { backend: best.backend, key: best.key, checksum: ref.checksum }
  }

  stats(): EchoCopyStats {
    return { copiesPerBlock: this.copiesPerBlock, held: this.map.size, ...this.#counts }
  }
}
