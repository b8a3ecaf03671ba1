import type { Timers } from './ports.js'

/**
 * Calls `tick` every `intervalMs` on the given timers (injectable, so tests drive time), one round
 * at a time: the next is armed after the previous returned, even if it threw. `stop()` is final.
 */
export class TickLoop {
  #timer: unknown
  #stopped = false

  constructor(
    private readonly timers: Timers,
    private readonly intervalMs: number,
    private readonly tick: () => void,
  ) {}

  /** Starts the loop (idempotent; no-op once stopped). */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return
    this.#arm()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.timers.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm(): void {
    this.#timer = this.timers.setTimeout(() => {
      this.#timer = undefined
      if (this.#stopped) return
      try {
        this.tick()
      } finally {
        if (!this.#stopped) this.#arm()
      }
    }, this.intervalMs)
  }
}
