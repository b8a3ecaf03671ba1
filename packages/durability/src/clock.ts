/** An armed timer; pass it back to {@link Clock.clearTimeout}. */
export type TimerHandle = { readonly __timer: unknown } | object

/**
 * Time and timers, injected so a simulation can run hours in seconds and tests never wait on
 * wall-clock time. `now()` is ms (any epoch, non-decreasing). A timer callback may return a
 * promise: {@link ManualClock.advance} awaits it, the system clock lets it run.
 */
export interface Clock {
  now(): number
  setTimeout(fn: () => void | Promise<void>, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/** `Date.now` and Node's timers (unref'd: background work never keeps a process alive). */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void | Promise<void>, ms: number): TimerHandle => {
    const t = setTimeout(() => void fn(), ms)
    t.unref?.()
    return t
  },
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
})

interface ManualTimer {
  readonly at: number
  readonly seq: number
  readonly fn: () => void | Promise<void>
}

/**
 * A clock that moves only when told: `advance(ms)` fires every timer due within the step in time
 * order (ties in arming order), setting `now()` to each timer's time and awaiting its callback, so
 * what a timer starts is finished before the next one fires. For simulations and tests.
 */
export class ManualClock implements Clock {
  #now: number
  #seq = 0
  readonly #timers = new Set<ManualTimer>()

  constructor(startMs = 0) {
    this.#now = startMs
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void | Promise<void>, ms: number): TimerHandle {
    const timer: ManualTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn }
    this.#timers.add(timer)
    return timer
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as ManualTimer)
  }

  /** Timers armed and not yet fired. */
  get pendingTimers(): number {
    return this.#timers.size
  }

  /** Moves time forward by `ms` (≥ 0), firing and awaiting the timers due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + Math.max(0, ms)
    for (;;) {
      let next: ManualTimer | undefined
      for (const t of this.#timers) if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t
      if (!next) break
      this.#timers.delete(next)
      this.#now = Math.max(this.#now, next.at)
      await next.fn()
    }
    this.#now = end
  }
}

/**
 * Runs `fn` every `intervalMs` on `clock`, never overlapping itself (the next run is armed when the
 * previous one settled). Errors go to `onError`. Returns a function that stops it. Internal.
 */
export function every(clock: Clock, intervalMs: number, fn: () => Promise<void>, onError: (err: unknown) => void): () => void {
  let stopped = false
  let handle: TimerHandle | undefined
  const arm = (): void => {
    if (stopped) return
    handle = clock.setTimeout(async () => {
      handle = undefined
      try {
        await fn()
      } catch (err) {
        onError(err)
      }
      arm()
    }, intervalMs)
  }
  arm()
  return () => {
    stopped = true
    if (handle) clock.clearTimeout(handle)
  }
}
