import type { InspectableLocker } from '@tessera/cluster'
import type { Lock, RequestRelease } from '@tus/utils'

interface Waiter {
  readonly grant: () => void
  readonly requestRelease: RequestRelease
}

interface Entry {
  holder: RequestRelease
  releaseRequested: boolean
  readonly waiters: Waiter[]
}

/**
 * @tus/utils' `Locker` for one process: a FIFO wait queue per upload id, no polling (a waiting
 * request costs nothing, where @tus/server's MemoryLocker spins). A request that wants a held lock
 * asks the holder to release it — a resumed upload must not wait for a stalled PATCH to time out —
 * and waits until it is handed over or its signal aborts.
 */
export class LocalLocker implements InspectableLocker {
  readonly #entries = new Map<string, Entry>()

  /** Whether a request of this process holds `id`'s lock. */
  async isLocked(id: string): Promise<boolean> {
    return this.#entries.has(id)
  }

  newLock(id: string): Lock {
    return new LocalLock(this.#entries, id)
  }

  /** Ids currently locked (for shutdown and tests). */
  get held(): number {
    return this.#entries.size
  }
}

class LocalLock implements Lock {
  #held = false

  constructor(
    private readonly entries: Map<string, Entry>,
    private readonly id: string,
  ) {}

  lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    // A rejection, not a throw: callers may chain on the promise.
    if (signal.aborted) return Promise.reject(signal.reason as Error)
    const entry = this.entries.get(this.id)
    if (!entry) {
      this.entries.set(this.id, { holder: requestRelease, releaseRequested: false, waiters: [] })
      this.#held = true
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        requestRelease,
        grant: () => {
          signal.removeEventListener('abort', onAbort)
          this.#held = true
          resolve()
        },
      }
      const onAbort = (): void => {
        const i = entry.waiters.indexOf(waiter)
        if (i >= 0) entry.waiters.splice(i, 1)
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      entry.waiters.push(waiter)
      if (!entry.releaseRequested) askRelease(entry)
    })
  }

  async unlock(): Promise<void> {
    if (!this.#held) return
    this.#held = false
    const entry = this.entries.get(this.id)
    if (!entry) return
    const next = entry.waiters.shift()
    if (!next) {
      this.entries.delete(this.id)
      return
    }
    entry.holder = next.requestRelease
    entry.releaseRequested = false
    // The next holder is asked to hurry too if others already queue behind it.
    if (entry.waiters.length > 0) askRelease(entry)
    next.grant()
  }
}

/** Asks the holder to release, once per holder, after the current tick; its failure is its own. */
function askRelease(entry: Entry): void {
  entry.releaseRequested = true
  void Promise.resolve()
    .then(() => entry.holder())
    .catch(() => undefined)
}
