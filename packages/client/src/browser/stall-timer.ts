/**
 * The progress timer of a browser request: `arm(ms)` (re-)starts it, and when `ms` pass without
 * another `arm` it calls `onStall` once and `stalled` turns true. `clear()` stops it for good.
 */
export class StallTimer {
  #stalled = false
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly onStall: () => void) {}

  /** Whether the timer fired. */
  get stalled(): boolean {
    return this.#stalled
  }

  arm(ms: number): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#stalled = true
      this.onStall()
    }, ms)
  }

  clear(): void {
    clearTimeout(this.#timer)
  }
}
