/** A map of at most `capacity` entries that forgets the least recently used one first. */
export class LruMap<K, V> {
  readonly #entries = new Map<K, V>()

  constructor(private readonly capacity: number) {}

  /** The value of `key`, marked as just used. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value !== undefined) this.#touch(key, value)
    return value
  }

  /** The value of `key`, its place in the order unchanged. */
  peek(key: K): V | undefined {
    return this.#entries.get(key)
  }

  /** Sets `key` (as just used); resolves the entry this evicted, if any. */
  set(key: K, value: V): V | undefined {
    this.#touch(key, value)
    if (this.#entries.size <= this.capacity) return undefined
    const [oldest, evicted] = this.#entries.entries().next().value!
    this.#entries.delete(oldest)
    return evicted
  }

  delete(key: K): void {
    this.#entries.delete(key)
  }

  /** The entries, least recently used first (not marked as used). */
  entries(): IterableIterator<[K, V]> {
    return this.#entries.entries()
  }

  #touch(key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
  }
}
