import type { BandwidthPhase } from './options.js'

/** Smallest bucket, in bytes, so slow rates still move whole TCP segments. */
const MIN_BURST_BYTES = 16 * 1024
/** Burst allowance in ms of the current rate: a link with a short queue, not a precise pacer. */
const BURST_MS = 50

/**
 * A token bucket whose rate follows a {@link BandwidthPhase} schedule. One per endpoint and
 * direction; every connection of the endpoint draws from it, so the schedule caps the *link*.
 * Times are in ms from any monotonic clock (the caller passes `now`).
 */
export class TokenBucket {
  #phases: readonly BandwidthPhase[]
  #loop: boolean
  #startMs: number
  #lastMs: number
  #tokens: number
  #total: number

  constructor(phases: readonly BandwidthPhase[], loop: boolean, nowMs: number) {
    this.#phases = phases
    this.#loop = loop
    this.#total = phases.reduce((s, p) => s + p.durationMs, 0)
    this.#startMs = nowMs
    this.#lastMs = nowMs
    this.#tokens = this.#burst(this.#bytesPerMs(nowMs))
  }

  /** Index of the phase in force at `nowMs`, and its rate in bits per second (`Infinity` = unlimited). */
  phase(nowMs: number): { index: number; bitsPerSecond: number } {
    if (this.#phases.length === 0) return { index: -1, bitsPerSecond: Infinity }
    let t = nowMs - this.#startMs
    if (this.#loop) t %= this.#total
    for (let i = 0; i < this.#phases.length; i++) {
      const p = this.#phases[i]!
      if (t < p.durationMs) return { index: i, bitsPerSecond: p.bitsPerSecond }
      t -= p.durationMs
    }
    const last = this.#phases.length - 1
    return { index: last, bitsPerSecond: this.#phases[last]!.bitsPerSecond }
  }

  /**
   * Takes up to `want` bytes' worth of tokens; returns how many were granted. Grants nothing until
   * `min(want, burst, MIN_BURST_BYTES)` tokens are there — what {@link waitMs} waits for — so a
   * capped pump sleeps between sizeable grants instead of spinning on a few bytes at a time (which
   * blocked the event loop for a whole slow phase).
   */
  take(want: number, nowMs: number): number {
    const rate = this.#refill(nowMs)
    if (rate === Infinity) return want
    if (this.#tokens < Math.min(want, this.#burst(rate), MIN_BURST_BYTES)) return 0
    const granted = Math.min(want, Math.floor(this.#tokens))
    this.#tokens -= granted
    return granted
  }

  /** Ms until `min(want, burst)` tokens are available (at the current rate; ≥ 1). */
  waitMs(want: number, nowMs: number): number {
    const rate = this.#refill(nowMs)
    if (rate === Infinity) return 0
    const need = Math.min(want, this.#burst(rate), MIN_BURST_BYTES) - this.#tokens
    return Math.max(1, Math.ceil(need / rate))
  }

  #refill(nowMs: number): number {
    const rate = this.#bytesPerMs(nowMs)
    if (rate === Infinity) {
      this.#lastMs = nowMs
      return rate
    }
    this.#tokens = Math.min(this.#burst(rate), this.#tokens + (nowMs - this.#lastMs) * rate)
    this.#lastMs = nowMs
    return rate
  }

  #bytesPerMs(nowMs: number): number {
    const bps = this.phase(nowMs).bitsPerSecond
    return bps === Infinity ? Infinity : bps / 8 / 1000
  }

  #burst(bytesPerMs: number): number {
    return Math.max(MIN_BURST_BYTES, bytesPerMs * BURST_MS)
  }
}
