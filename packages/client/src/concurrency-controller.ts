/** Bounds of the {@link ConcurrencyController}. */
export interface ConcurrencyControllerOptions {
  readonly initial: number
  readonly min: number
  readonly max: number
  /** Relative gain in throughput that justifies one more parallel partition. Default 0.1. */
  readonly gainThreshold?: number
}

/**
 * Adapts the number of partitions in flight: a hill climb on aggregate throughput, with a step
 * down on every failure (additive decrease; stalls and errors mean the link or server is
 * struggling). After `level` partitions completed at a level, if the aggregate rate beats the
 * rate measured one level lower by `gainThreshold`, go up one; if it is worse than that rate, go
 * back down. Pure: callers feed it rates and failures.
 */
export class ConcurrencyController {
  readonly #o: Required<ConcurrencyControllerOptions>
  #level: number
  #completedAtLevel = 0
  #rateAtLevel = new Map<number, number>()

  constructor(options: ConcurrencyControllerOptions) {
    this.#o = { gainThreshold: 0.1, ...options }
    this.#level = Math.min(this.#o.max, Math.max(this.#o.min, this.#o.initial))
  }

  /** Partitions that may be in flight now. */
  get level(): number {
    return this.#level
  }

  /**
   * A partition completed; `aggregateBps` is the upload's current rate (all partitions, bytes/s).
   * Returns the (possibly new) level.
   */
  onCompleted(aggregateBps: number): number {
    this.#completedAtLevel += 1
    if (this.#completedAtLevel < this.#level) return this.#level
    const level = this.#level
    this.#rateAtLevel.set(level, aggregateBps)
    const below = this.#rateAtLevel.get(level - 1)
    if (below !== undefined && aggregateBps < below) {
      this.#set(level - 1)
    } else if (below === undefined || aggregateBps >= below * (1 + this.#o.gainThreshold)) {
      this.#set(level + 1)
    } else {
      this.#completedAtLevel = 0
    }
    return this.#level
  }

  /** An attempt failed or stalled: one fewer in flight. Returns the new level. */
  onFailure(): number {
    this.#set(this.#level - 1)
    return this.#level
  }

  #set(level: number): void {
    const next = Math.min(this.#o.max, Math.max(this.#o.min, level))
    if (next !== this.#level) {
      this.#level = next
      this.#completedAtLevel = 0
    } else {
      this.#completedAtLevel = 0
    }
  }
}
