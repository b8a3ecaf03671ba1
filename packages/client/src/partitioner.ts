import type { UploadPriority } from './options.js'

/** Bounds and targets of the {@link Partitioner}; all sizes in bytes, times in ms. */
export interface PartitionerOptions {
  readonly minPartitionBytes: number
  readonly maxPartitionBytes: number
  readonly initialPartitionBytes: number
  readonly partitionAlignBytes: number
  readonly targetPartitionMs: number
  readonly priority: UploadPriority
  /** Weight of a new sample in the moving averages, (0, 1]. Default 0.3. */
  readonly ewmaAlpha?: number
}

/** What the partitioner currently believes about the link, for events and logs. */
export interface LinkEstimate {
  /** EWMA of per-request throughput, bytes/s; undefined before the first sample. */
  readonly throughputBps: number | undefined
  /** EWMA of round-trip time (requests without a body), ms; undefined before the first sample. */
  readonly rttMs: number | undefined
  /** EWMA of the error rate of requests, 0–1. */
  readonly errorRate: number
}

/** How a size was chosen: the raw target and the estimate behind it. */
export interface PartitionSizing extends LinkEstimate {
  readonly bytes: number
  readonly targetBytes: number
}

// Per-partition fixed cost is about two round trips (POST, the last PATCH's answer) plus one
// request's share of the final: a partition should last at least this many RTTs so the overhead
// stays under ~5 %.
const MIN_RTTS_PER_PARTITION = 40

const PRIORITY_FACTOR: Record<UploadPriority, number> = { urgent: 0.25, normal: 1, bulk: 2 }

/**
 * Chooses partition sizes from moving averages (EWMA) of measured throughput, round-trip time and
 * errors (seed 001 §1): target ≈ throughput × targetPartitionMs (never less than
 * MIN_RTTS_PER_PARTITION round trips of transfer), shrunk by the recent error rate and by priority
 * (`urgent` ×¼, `bulk` ×2), aligned down to `partitionAlignBytes` and bounded to
 * [minPartitionBytes, maxPartitionBytes]. Pure: it never reads a clock; callers feed it samples.
 */
export class Partitioner {
  readonly #o: Required<PartitionerOptions>
  #throughputBps: number | undefined
  #rttMs: number | undefined
  #errorRate = 0

  constructor(options: PartitionerOptions) {
    this.#o = { ewmaAlpha: 0.3, ...options }
  }

  /** Current estimate of the link. */
  get estimate(): LinkEstimate {
    return { throughputBps: this.#throughputBps, rttMs: this.#rttMs, errorRate: this.#errorRate }
  }

  /** A body-carrying request moved `bytes` in `durationMs` and succeeded. */
  observeTransfer(bytes: number, durationMs: number): void {
    this.#error(0)
    if (bytes <= 0 || durationMs <= 0) return
    const bps = (bytes * 1000) / durationMs
    this.#throughputBps = this.#throughputBps === undefined ? bps : this.#ewma(this.#throughputBps, bps)
  }

  /** A request without a body (HEAD, POST, OPTIONS) took `durationMs`. */
  observeRtt(durationMs: number): void {
    if (durationMs < 0) return
    this.#rttMs = this.#rttMs === undefined ? durationMs : this.#ewma(this.#rttMs, durationMs)
  }

  /** A request failed (error, stall, 5xx). */
  observeFailure(): void {
    this.#error(1)
  }

  /**
   * The next partition's size, bytes.
   * @param remaining bytes left in the source when known: the last partition takes the rest when
   *   the rest would otherwise leave a tail smaller than `minPartitionBytes`.
   * @param share when given (and the size is known), a partition is at most ⌈remaining / share⌉,
   *   so a small file is still spread over `share` parallel partitions.
   */
  next(remaining?: number, share = 1): PartitionSizing {
    const o = this.#o
    const factor = PRIORITY_FACTOR[o.priority]
    let target: number
    if (this.#throughputBps === undefined) {
      target = o.initialPartitionBytes * factor
    } else {
      const ms = Math.max(o.targetPartitionMs * factor, (this.#rttMs ?? 0) * MIN_RTTS_PER_PARTITION)
      target = (this.#throughputBps * ms) / 1000
    }
    // Errors: at a 50 % error rate partitions are a quarter of the size, so a failure costs less.
    target *= (1 - this.#errorRate) ** 2
    const max = o.priority === 'urgent' ? Math.max(o.minPartitionBytes, Math.floor(o.maxPartitionBytes / 4)) : o.maxPartitionBytes
    let bytes = this.#bound(target, max)
    if (remaining !== undefined) {
      if (share > 1) bytes = Math.min(bytes, this.#bound(Math.ceil(remaining / share / o.partitionAlignBytes) * o.partitionAlignBytes, max))
      if (remaining - bytes < o.minPartitionBytes) bytes = remaining
    }
    return { bytes, targetBytes: Math.round(target), ...this.estimate }
  }

  #bound(bytes: number, max: number): number {
    const o = this.#o
    const aligned = Math.floor(bytes / o.partitionAlignBytes) * o.partitionAlignBytes
    return Math.min(max, Math.max(o.minPartitionBytes, aligned))
  }

  #ewma(previous: number, sample: number): number {
    return previous + this.#o.ewmaAlpha * (sample - previous)
  }

  #error(sample: 0 | 1): void {
    this.#errorRate = this.#ewma(this.#errorRate, sample)
  }
}
