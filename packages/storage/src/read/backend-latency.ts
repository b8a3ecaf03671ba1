/** Reads a backend needs before its own latency quantile sets its hedge delay. */
export const MIN_SAMPLES = 8
/** Block-read latencies kept per backend for the quantile. */
const RING = 64
/** Weight of a new read in the running prediction. */
const ALPHA = 0.25

interface State {
  readonly ring: Float64Array
  count: number
  next: number
  /** Predicted latency, ms, as of `at`; raised by late and failed reads. */
  predicted: number
  at: number
  /** Reads late in a row (none finished in time since). */
  lateStreak: number
  /** Block reads started (the backend's read load). */
  started: number
}

/** What {@link BackendLatency.snapshot} reports of one backend. */
export interface BackendLatencySnapshot {
  readonly backend: string
  /** Latency the next block read is predicted to take, ms (what reads are ranked by). */
  readonly predictedMs: number
  /** After this long, ms, a block read from it is late and hedged. */
  readonly hedgeDelayMs: number
  /** Successful block reads observed (the quantile uses the last 64). */
  readonly samples: number
  /** Block reads started on it (hedges and replacements too). */
  readonly reads: number
}

/** The part of the hedge options the latency model uses. */
export interface LatencyModelOptions {
  readonly quantile: number
  readonly floorMs: number
  readonly maxMs: number
  readonly initialMs: number
  readonly recoveryHalfLifeMs: number
}

/**
 * Learned block-read latency per backend: a running prediction (to rank backends), a quantile of
 * recent reads (the hedge delay) and a streak of late reads. A penalty ({@link penalize}: reads
 * late twice in a row, or failed) raises the prediction so the backend drops out of the first k;
 * without new reads it halves every `recoveryHalfLifeMs` toward the other backends' typical
 * latency, so a backend that recovered is tried again — one hedge delay per try.
 */
export class BackendLatency {
  readonly #states = new Map<string, State>()

  constructor(
    private readonly options: LatencyModelOptions,
    /** Monotonic ms. */
    private readonly now: () => number,
  ) {}

  /** A successful block read of `ms`; `late` when it ran past its hedge delay first (else the late streak ends). */
  observe(backend: string, ms: number, late = false): void {
    const s = this.#state(backend)
    if (!late) s.lateStreak = 0
    s.ring[s.next] = ms
    s.next = (s.next + 1) % RING
    s.count++
    const before = this.predictedMs(backend)
    s.predicted = s.count === 1 ? ms : before + ALPHA * (ms - before)
    s.at = this.now()
  }

  /** Counts a block read started on `backend`. */
  start(backend: string): void {
    this.#state(backend).started++
  }

  /** Counts a read that ran past its hedge delay; resolves how many in a row the backend had. */
  late(backend: string): number {
    return ++this.#state(backend).lateStreak
  }

  /** Raises the backend's prediction to at least `ms` (a late or failed read's cost). */
  penalize(backend: string, ms: number): void {
    const s = this.#state(backend)
    s.predicted = Math.max(this.predictedMs(backend), ms)
    s.at = this.now()
  }

  /** A read that failed: ranked as if it took the largest hedge delay. */
  fail(backend: string, elapsedMs: number): void {
    this.penalize(backend, Math.max(elapsedMs, this.options.maxMs))
  }

  /** The latency a read from `backend` is predicted to take, ms (the typical one while unknown). */
  predictedMs(backend: string): number {
    const s = this.#states.get(backend)
    const typical = this.#typical(backend)
    if (!s || (s.count === 0 && s.predicted === 0)) return typical
    if (s.predicted <= typical) return s.predicted
    const decay = 0.5 ** ((this.now() - s.at) / this.options.recoveryHalfLifeMs)
    return typical + (s.predicted - typical) * decay
  }

  /** How long a read from `backend` may run before it is late, ms: its latency quantile within floor…max. */
  hedgeDelayMs(backend: string): number {
    const { floorMs, maxMs, initialMs, quantile } = this.options
    const s = this.#states.get(backend)
    const clamp = (ms: number): number => Math.min(maxMs, Math.max(floorMs, ms))
    if (!s || s.count < MIN_SAMPLES) return clamp(initialMs)
    const recent = Array.from(s.ring.subarray(0, Math.min(s.count, RING))).sort((a, b) => a - b)
    return clamp(recent[Math.min(recent.length - 1, Math.floor(quantile * recent.length))]!)
  }

  /** The backends' typical block-read latency, ms: the median of their predictions (0 before any read). */
  typicalMs(): number {
    return this.#typical(undefined)
  }

  /** Every backend seen so far. */
  snapshot(): BackendLatencySnapshot[] {
    return [...this.#states].map(([backend, s]) => ({ backend, predictedMs: this.predictedMs(backend), hedgeDelayMs: this.hedgeDelayMs(backend), samples: s.count, reads: s.started }))
  }

  // Median of the other backends' predictions (of those read successfully): what a healthy one takes.
  #typical(except: string | undefined): number {
    const others: number[] = []
    for (const [id, s] of this.#states) if (id !== except && s.count > 0) others.push(s.predicted)
    if (others.length === 0) return 0
    others.sort((a, b) => a - b)
    return others[others.length >> 1]!
  }

  #state(backend: string): State {
    let s = this.#states.get(backend)
    if (!s) {
      s = { ring: new Float64Array(RING), count: 0, next: 0, predicted: 0, at: this.now(), lateStreak: 0, started: 0 }
      this.#states.set(backend, s)
    }
    return s
  }
}
