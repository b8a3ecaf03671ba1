/**
 * At most `limit` files uploading at once; the others wait in order. A paused or removed file gives
 * its slot back (`release`), so the next waiting file starts.
 */
export class FileSlots {
  #running = 0
  readonly #waiting: Array<() => void> = []

  constructor(readonly limit: number) {}

  /** Resolves when a slot is free and taken; `signal` abandons the wait (the promise then never settles). */
  acquire(signal: AbortSignal): Promise<void> {
    if (this.#running < this.limit) {
      this.#running += 1
      return Promise.resolve()
    }
    return new Promise<void>((resolve) => {
      const take = (): void => {
        this.#running += 1
        resolve()
      }
      this.#waiting.push(take)
      signal.addEventListener('abort', () => {
        const at = this.#waiting.indexOf(take)
        if (at >= 0) this.#waiting.splice(at, 1)
      }, { once: true })
    })
  }

  release(): void {
    this.#running -= 1
    this.#waiting.shift()?.()
  }
}
