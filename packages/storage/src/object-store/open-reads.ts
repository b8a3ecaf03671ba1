/**
 * The reads of each object that are running now (a GET's stream that has started, a prefetch), so
 * that a move can wait, before it deletes a block it replaced, for the reads that loaded the
 * manifest before the move and may still read that block. A read stream that was never iterated
 * read nothing and is not counted. Internal to the store.
 */
export class OpenReads {
  readonly #byObject = new Map<string, Set<Promise<void>>>()

  /** Counts a read of `objectId` as running until the returned function is called (idempotent). */
  begin(objectId: string): () => void {
    let end!: () => void
    const done = new Promise<void>((resolve) => (end = resolve))
    let set = this.#byObject.get(objectId)
    if (!set) this.#byObject.set(objectId, (set = new Set()))
    set.add(done)
    return () => {
      end()
      const now = this.#byObject.get(objectId)
      now?.delete(done)
      if (now?.size === 0) this.#byObject.delete(objectId)
    }
  }

  /**
   * Resolves true once every read of `objectId` running at the call has ended (reads started later
   * are not waited for), or false after `timeoutMs` with some still running.
   */
  async settled(objectId: string, timeoutMs: number): Promise<boolean> {
    const running = [...(this.#byObject.get(objectId) ?? [])]
    if (running.length === 0) return true
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))
    try {
      return await Promise.race([Promise.all(running).then(() => true as const), timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}
