import { AccessModel } from '@tessera/predict'
import type { EchoCache, Logger, ObjectStore, ReadPlan } from '@tessera/storage'

/** Options of {@link Prefetcher}. */
export interface PrefetcherOptions {
  /** P(next | current) above which the next read is prefetched. */
  readonly threshold: number
  /** Stripes prefetched per predicted read. */
  readonly stripes: number
  /** Monotonic or wall-clock ms (the model's time). */
  readonly now: () => number
  readonly log: Logger
  /** Sessions remembered (the least recently seen goes first). Default 10 000. */
  readonly maxSessions?: number
  /** Two reads of one session further apart than this, ms, are not a transition. Default 5 min. */
  readonly sessionGapMs?: number
  /** Prefetches running at once; predictions beyond are skipped. Default 2. */
  readonly maxInFlight?: number
}

/** What {@link Prefetcher.stats} reports (JSON). */
export interface PrefetcherStats {
  /** Transitions learned (a read following another of the same session). */
  readonly observed: number
  /** Predictions above the threshold. */
  readonly predicted: number
  /** Prefetches started. */
  readonly issued: number
  /** Predictions not prefetched: too many running, too many unused prefetched bytes, or poor recent precision. */
  readonly throttled: number
  /** Prefetches that failed (the read that wants it will read around or report it). */
  readonly failed: number
  /** Bytes read by prefetches. */
  readonly bytes: number
  /** Precision of the recently judged prefetches (used / used + wasted, decayed), what throttles the prefetcher. */
  readonly recentPrecision: number
  /** States held by the model. */
  readonly modelStates: number
}

/** Recent precision under which only one prediction in {@link PROBE_EVERY} is prefetched. */
const MIN_PRECISION = 0.3
const PROBE_EVERY = 10
/** Weight of each newly judged prefetch in the recent precision. */
const PRECISION_ALPHA = 0.05

/**
 * Access-correlation prefetch (docs/read-path.md): every read of a session (a client's
 * `Tessera-Read-Session` or its address) is a state (object, first stripe); the transition from
 * the session's previous read is learned by an {@link AccessModel}, and the successors of the
 * current state with P > threshold are read into the echo cache before they are asked for.
 * Prefetched blocks a read never used are counted by the cache; their share throttles this.
 */
export class Prefetcher {
  readonly model = new AccessModel()
  readonly #sessions = new Map<string, { key: string; at: number }>()
  readonly #maxSessions: number
  readonly #gapMs: number
  readonly #maxInFlight: number
  readonly #running = new Set<Promise<void>>()
  #counts = { observed: 0, predicted: 0, issued: 0, throttled: 0, failed: 0, bytes: 0 }
  #precision = 1
  #seen = { used: 0, wasted: 0 }
  #lowStreak = 0

  constructor(
    private readonly store: ObjectStore,
    private readonly echoes: EchoCache,
    private readonly options: PrefetcherOptions,
  ) {
    this.#maxSessions = options.maxSessions ?? 10_000
    this.#gapMs = options.sessionGapMs ?? 5 * 60_000
    this.#maxInFlight = options.maxInFlight ?? 2
  }

  /** A read of `objectId` covering `plan` by `session`: learn from it, and prefetch what usually follows. */
  observe(session: string, objectId: string, plan: ReadPlan): void {
    const now = this.options.now()
    const key = keyOf(objectId, plan.firstStripe)
    const previous = this.#sessions.get(session)
    if (previous && now - previous.at <= this.#gapMs && previous.key !== key) {
      this.model.observe(previous.key, key, now)
      this.#counts.observed++
    }
    this.#sessions.delete(session)
    this.#sessions.set(session, { key, at: now })
    if (this.#sessions.size > this.#maxSessions) this.#sessions.delete(this.#sessions.keys().next().value!)
    this.#judge()
    for (const next of this.model.predict(key, now)) {
      if (next.probability <= this.options.threshold) break
      this.#counts.predicted++
      if (!this.#mayPrefetch()) {
        this.#counts.throttled++
        continue
      }
      this.#prefetch(next.key)
    }
  }

  /** Resolves once no prefetch is running (shutdown, tests). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running)
  }

  /** Counters since construction (a snapshot). */
  stats(): PrefetcherStats {
    return { ...this.#counts, recentPrecision: this.#precision, modelStates: this.model.size }
  }

  #prefetch(key: string): void {
    const { objectId, stripe } = parseKey(key)
    this.#counts.issued++
    const running: Promise<void> = this.store.prefetch(objectId, { firstStripe: stripe, stripes: this.options.stripes }).then(
      (bytes) => {
        this.#counts.bytes += bytes
      },
      (err: unknown) => {
        this.#counts.failed++
        this.options.log.warn({ uploadId: objectId, stripe, code: (err as { code?: string }).code }, 'prefetch failed')
      },
    ).finally(() => this.#running.delete(running))
    this.#running.add(running)
  }

  #mayPrefetch(): boolean {
    if (this.#running.size >= this.#maxInFlight) return false
    const s = this.echoes.stats()
    const unusedBlocks = s.prefetched - s.prefetchUsed - s.prefetchWasted
    // Prefetches waiting to be used may hold a quarter of the cache at most.
    if (s.blocks > 0 && unusedBlocks * (s.bytes / s.blocks) > s.maxBytes / 4) return false
    if (this.#precision >= MIN_PRECISION) return true
    // Poor precision: keep measuring with one prediction in ten.
    return ++this.#lowStreak % PROBE_EVERY === 0
  }

  // Folds the prefetched blocks the cache judged (used or wasted) since last time into the recent precision.
  #judge(): void {
    const s = this.echoes.stats()
    const used = s.prefetchUsed - this.#seen.used
    const wasted = s.prefetchWasted - this.#seen.wasted
    this.#seen = { used: s.prefetchUsed, wasted: s.prefetchWasted }
    if (used + wasted <= 0) return
    const keep = (1 - PRECISION_ALPHA) ** (used + wasted)
    this.#precision = this.#precision * keep + (used / (used + wasted)) * (1 - keep)
  }
}

function keyOf(objectId: string, stripe: number): string {
  return `${stripe}:${objectId}`
}

function parseKey(key: string): { objectId: string; stripe: number } {
  const colon = key.indexOf(':')
  return { stripe: Number(key.slice(0, colon)), objectId: key.slice(colon + 1) }
}
