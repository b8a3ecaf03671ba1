import type { StateStore } from '../ports.js'

/**
 * Resume state in `localStorage`, one item per upload (`<prefix><key>`, JSON). `setItem` replaces
 * an item whole, so a crash or a reload leaves the old or the new document. Items of finished
 * uploads are removed by the engine; a full storage (`QuotaExceededError`) fails the write, which
 * the engine reports as `CLIENT_ERR_STATE`.
 */
export class LocalStorageStateStore implements StateStore {
  readonly #storage: Storage

  /**
   * @param prefix item name prefix. Default `tessera:`.
   * @param storage the Storage to use. Default `globalThis.localStorage`.
   */
  constructor(
    readonly prefix: string = 'tessera:',
    storage: Storage = globalThis.localStorage,
  ) {
    this.#storage = storage
  }

  async get(key: string): Promise<unknown | undefined> {
    const text = this.#storage.getItem(this.prefix + key)
    if (text === null) return undefined
    try {
      return JSON.parse(text) as unknown
    } catch {
      return undefined // damaged or not ours: start over
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    this.#storage.setItem(this.prefix + key, JSON.stringify(value))
  }

  async delete(key: string): Promise<void> {
    this.#storage.removeItem(this.prefix + key)
  }
}
