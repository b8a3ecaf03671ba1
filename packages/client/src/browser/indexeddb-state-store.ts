import { createStore, del, get, set, type UseStore } from 'idb-keyval'
import type { StateStore } from '../ports.js'
import { LocalStorageStateStore } from './local-storage-state-store.js'

/** IndexedDB database and object store of the default browser state store. */
export const STATE_DATABASE = 'tessera'
export const STATE_OBJECT_STORE = 'uploads'

/**
 * Resume state in IndexedDB (idb-keyval), one record per upload: asynchronous, so a write never
 * blocks the page's main thread, and under the origin's storage quota rather than localStorage's
 * ~5 MB. Each `set` is one transaction, so a crash or a reload leaves the old or the new document.
 *
 * State written by earlier versions to `localStorage` (`legacy`, the {@link LocalStorageStateStore}
 * it used) is still found: a `get` that misses in IndexedDB reads it there and moves it over, so an
 * upload begun before an update resumes after it.
 */
export class IndexedDbStateStore implements StateStore {
  readonly #store: UseStore
  readonly #legacy: StateStore | undefined

  /**
   * @param database IndexedDB database name. Default `tessera`.
   * @param objectStore object store name in it. Default `uploads`.
   * @param legacy where earlier versions kept state, read and moved on a miss. Default none.
   */
  constructor(database: string = STATE_DATABASE, objectStore: string = STATE_OBJECT_STORE, legacy?: StateStore) {
    this.#store = createStore(database, objectStore)
    this.#legacy = legacy
  }

  async get(key: string): Promise<unknown | undefined> {
    const value = await get<unknown>(key, this.#store)
    if (value !== undefined || !this.#legacy) return value
    const old = await this.#legacy.get(key)
    if (old === undefined) return undefined
    await set(key, old, this.#store)
    await this.#legacy.delete(key)
    return old
  }

  async set(key: string, value: unknown): Promise<void> {
    await set(key, value, this.#store)
  }

  async delete(key: string): Promise<void> {
    await del(key, this.#store)
    await this.#legacy?.delete(key)
  }
}

/**
 * The browser's default resume state: {@link IndexedDbStateStore} (reading and moving what an
 * earlier version left in localStorage) where the page has IndexedDB; {@link LocalStorageStateStore}
 * where it has only localStorage; null (no resume) where it has neither — some privacy modes throw
 * on access. An IndexedDB that exists but cannot be opened fails the upload's first state write with
 * `CLIENT_ERR_STATE`; pass `stateStore: new LocalStorageStateStore()` (or null) to choose otherwise.
 */
export function defaultBrowserStateStore(): StateStore | null {
  const local = usableLocalStorage()
  try {
    if (globalThis.indexedDB) return new IndexedDbStateStore(STATE_DATABASE, STATE_OBJECT_STORE, local ?? undefined)
  } catch {
    // a privacy mode that throws on access
  }
  return local
}

function usableLocalStorage(): LocalStorageStateStore | null {
  try {
    const storage = globalThis.localStorage
    if (!storage) return null
    storage.getItem('tessera:probe') // throws in some privacy modes
    return new LocalStorageStateStore('tessera:', storage)
  } catch {
    return null
  }
}
