/**
 * A fixed-size ring of the latest `capacity` items, oldest first when read: the bounded time
 * series each backend's health is kept in (memory does not grow with uptime).
 */
export class RingSeries<T> {
  readonly #items: (T | undefined)[]
  #next = 0
  #size = 0

  constructor(readonly capacity: number) {
    this.#items = new Array<T | undefined>(capacity)
  }

  push(item: T): void {
    this.#items[this.#next] = item
    this.#next = (this.#next + 1) % this.capacity
    this.#size = Math.min(this.capacity, this.#size + 1)
  }

  get size(): number {
    return this.#size
  }

  /** The newest item, if any. */
  latest(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[(this.#next - 1 + this.capacity) % this.capacity]
  }

  /** Items oldest first. */
  toArray(): T[] {
    const start = (this.#next - this.#size + this.capacity) % this.capacity
    return Array.from({ length: this.#size }, (_, i) => this.#items[(start + i) % this.capacity]!)
  }
}
