import { performance } from 'node:perf_hooks'
import type { StripeRecord } from '../object-store/manifest.js'
import { BackendLatency, type BackendLatencySnapshot } from './backend-latency.js'
import type { EchoCopyStats } from './echo-copier.js'
import { resolveHedgeOptions, type HedgeOptions, type ResolvedHedgeOptions } from './hedge-options.js'

/** What an object store's stripe reads did so far ({@link HedgedReads.stats}); JSON. */
export interface ReadStats {
  readonly hedging: boolean
  /** Stripe reads finished (successfully or not). */
  readonly stripes: number
  /** Blocks those stripes needed (k, or fewer for a range inside one stripe). */
  readonly blocksNeeded: number
  /** Block reads started. */
  readonly blocksRead: number
  /** Block reads started because another was late against its backend's latency. */
  readonly hedges: number
  /** Late blocks the budget allowed no hedge for (they were waited for). */
  readonly hedgesDenied: number
  /** Stripes that started at least one hedge. */
  readonly hedgedStripes: number
  /** Block reads started because another was missing, unreadable or corrupt. */
  readonly replacements: number
  /** Block reads cancelled because k verified blocks had arrived first. */
  readonly cancelled: number
  /** Stripes rebuilt from parity rather than read from their data blocks. */
  readonly decoded: number
  /** (blocks read − blocks needed) / blocks needed; 0 before any read. */
  readonly extraReadRatio: number
  /** Per backend, what reads are ranked and hedged by. */
  readonly backends: readonly BackendLatencySnapshot[]
  /** Echo copies on other backends, when the store makes them. */
  readonly echoCopies?: EchoCopyStats
}

/** What one stripe read reports when it ends. */
export interface StripeOutcome {
  readonly needed: number
  readonly started: number
  readonly hedges: number
  readonly denied: number
  readonly replacements: number
  readonly cancelled: number
  readonly decoded: boolean
}

/**
 * The hedging state an object store's reads share: each backend's learned latency, the read
 * budget (a bucket of `burstBlocks` that each needed block refills by `maxExtraRatio`, each hedge
 * empties by one, so hedges stay within that share of the blocks read), and the counters of
 * {@link ReadStats}. Without hedging it still counts, and orders data blocks first.
 */
export class HedgedReads {
  readonly options: ResolvedHedgeOptions
  readonly latency: BackendLatency
  #tokens: number
  #totals = { stripes: 0, blocksNeeded: 0, blocksRead: 0, hedges: 0, hedgesDenied: 0, hedgedStripes: 0, replacements: 0, cancelled: 0, decoded: 0 }

  /** @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` for an invalid option. */
  constructor(options: HedgeOptions = {}, readonly now: () => number = () => performance.now()) {
    this.options = resolveHedgeOptions(options)
    this.latency = new BackendLatency(this.options, now)
    this.#tokens = this.options.burstBlocks
  }

  /**
   * Block indexes of `stripe` in the order to read them. Data blocks first, in order (reading them
   * decodes nothing), unless their backend is predicted slow — slower than twice the backends'
   * typical latency plus `parityPenaltyMs`; then the others by predicted latency, a parity block
   * counted `parityPenaltyMs` slower; blocks recorded missing last. Without hedging, data blocks
   * in order, then parity.
   */
  rank(stripe: StripeRecord): number[] {
    const k = stripe.dataBlocks
    const order = stripe.blocks.map((_, i) => i)
    const missing = (i: number): number => Number(stripe.blocks[i] === null)
    if (!this.options.enabled) return order.sort((a, b) => missing(a) - missing(b) || a - b)
    const penalty = this.options.parityPenaltyMs
    const slowMs = this.#slowMs()
    const predicted = stripe.blocks.map((ref) => (ref ? this.latency.predictedMs(ref.backend) : Number.POSITIVE_INFINITY))
    const fastData = (i: number): boolean => i < k && predicted[i]! <= slowMs
    const score = (i: number): number => (fastData(i) ? -1 : predicted[i]! + (i >= k ? penalty : 0))
    return order.sort((a, b) => missing(a) - missing(b) || score(a) - score(b) || a - b)
  }

  /**
   * A read of `backend` still running after its hedge delay (`elapsedMs`). A healthy backend is late
   * on 1 read in 20 by definition, so one late read changes nothing; two in a row count like a
   * failure (its prediction at `maxMs`, decaying), and the next stripes read around it.
   */
  noteLate(backend: string, elapsedMs: number): void {
    if (this.latency.late(backend) >= 2) this.latency.fail(backend, elapsedMs)
  }

  /** Whether reads of `backend` are predicted slow (data blocks on it are read around). */
  isSlow(backend: string): boolean {
    return this.options.enabled && this.latency.predictedMs(backend) > this.#slowMs()
  }

  /** Predicted latency past which a data block is read around: twice the typical one plus `parityPenaltyMs`. */
  #slowMs(): number {
    return 2 * this.latency.typicalMs() + this.options.parityPenaltyMs
  }

  /** Whether `blocks` more hedged reads may be started now; spends them when so. */
  takeHedges(blocks: number): boolean {
    if (!this.options.enabled || this.#tokens < blocks) return false
    this.#tokens -= blocks
    return true
  }

  /** Records a finished stripe read and refills the budget by what it needed. */
  settle(outcome: StripeOutcome): void {
    const t = this.#totals
    t.stripes++
    t.blocksNeeded += outcome.needed
    t.blocksRead += outcome.started
    t.hedges += outcome.hedges
    t.hedgesDenied += outcome.denied
    t.hedgedStripes += outcome.hedges > 0 ? 1 : 0
    t.replacements += outcome.replacements
    t.cancelled += outcome.cancelled
    t.decoded += outcome.decoded ? 1 : 0
    this.#tokens = Math.min(this.options.burstBlocks, this.#tokens + outcome.needed * this.options.maxExtraRatio)
  }

  /** Counters since construction (a snapshot). */
  stats(): ReadStats {
    const t = this.#totals
    return {
      hedging: this.options.enabled,
      ...t,
      extraReadRatio: t.blocksNeeded === 0 ? 0 : (t.blocksRead - t.blocksNeeded) / t.blocksNeeded,
      backends: this.latency.snapshot(),
    }
  }
}
