import { ClientError } from './errors.js'
import type { StateStore } from './ports.js'
import { parseResumeState, type ResumeState } from './resume-state.js'

/**
 * The resume state of one upload in its {@link StateStore}, under one key: loads it once, and
 * writes a fresh snapshot whenever asked — one write at a time, coalescing requests that arrive
 * while one is in flight (the write after them carries them all).
 */
export class StateWriter {
  #dirty = false
  #writing: Promise<void> | undefined

  constructor(
    private readonly store: StateStore,
    /** The key (see `stateKey`). */
    readonly key: string,
    private readonly snapshot: () => ResumeState,
  ) {}

  /**
   * The stored state, when it is one of this source (same fingerprint and size); undefined otherwise.
   * @throws ClientError `CLIENT_ERR_STATE` when the store cannot be read.
   */
  async load(expected: { fingerprint: string; size: number | undefined }): Promise<ResumeState | undefined> {
    try {
      return parseResumeState(await this.store.get(this.key), expected)
    } catch (err) {
      throw new ClientError('CLIENT_ERR_STATE', `cannot read the resume state ${this.key}: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * Resolves once a snapshot taken after this call is stored.
   * @throws ClientError `CLIENT_ERR_STATE` when the store cannot be written.
   */
  persist(): Promise<void> {
    this.#dirty = true
    this.#writing ??= this.#flush()
    return this.#writing
  }

  /** Resolves when no write is in flight (a failed one included). */
  async settled(): Promise<void> {
    await this.#writing?.catch(() => {})
  }

  /** Removes the state (the upload finished), after the write in flight. */
  async delete(): Promise<void> {
    await this.#writing
    await this.store.delete(this.key)
  }

  async #flush(): Promise<void> {
    try {
      while (this.#dirty) {
        this.#dirty = false
        await this.store.set(this.key, this.snapshot())
      }
    } catch (err) {
      throw new ClientError('CLIENT_ERR_STATE', `cannot write the resume state ${this.key}: ${(err as Error).message}`, { cause: err })
    } finally {
      this.#writing = undefined
    }
  }
}
