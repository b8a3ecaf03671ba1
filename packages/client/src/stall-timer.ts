/** What a socket's send buffer holds at most (Linux `net.ipv4.tcp_wmem` max, default 4 MiB), bytes. */
export const SEND_BUFFER_BYTES = 4 * 1024 * 1024

/**
 * The progress timer of one request, shared by every transport: `arm(extraMs)` (re-)starts it for
 * the request's `stallTimeoutMs` + `extraMs`, and when that passes without another `arm` it calls
 * `onStall` once and `stalled` turns true. `clear()` stops it for good.
 */
export class StallTimer {
  readonly #stallTimeoutMs: number
  readonly #onStall: () => void
  #stalled = false
  #timer: ReturnType<typeof setTimeout> | undefined

  /** @param stallTimeoutMs the request's `stallTimeoutMs`, ms. */
  constructor(stallTimeoutMs: number, onStall: () => void) {
    this.#stallTimeoutMs = stallTimeoutMs
    this.#onStall = onStall
  }

  /** Whether the timer fired. */
  get stalled(): boolean {
    return this.#stalled
  }

  /** (Re-)starts the timer: `stallTimeoutMs` + `extraMs` from now, ms. */
  arm(extraMs = 0): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#stalled = true
      this.#onStall()
    }, this.#stallTimeoutMs + extraMs)
  }

  clear(): void {
    clearTimeout(this.#timer)
  }
}

/**
 * The time a body whose `sentBytes` the socket has all taken may still need to drain from kernel
 * buffers (at most {@link SEND_BUFFER_BYTES} of it) at `minBodyBytesPerSecond`, ms: what the timer
 * allows beyond `stallTimeoutMs` for the answer once the whole body went out.
 */
export function drainAllowanceMs(sentBytes: number, minBodyBytesPerSecond: number): number {
  return Math.ceil((Math.min(sentBytes, SEND_BUFFER_BYTES) * 1000) / minBodyBytesPerSecond)
}
