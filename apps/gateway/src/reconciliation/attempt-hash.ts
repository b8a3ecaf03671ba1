import { createHash, type Hash } from 'node:crypto'
import { LruMap } from './lru-map.js'

/**
 * The running SHA-256 of one attempt's bytes across its PATCHes, with Node's native hash (~10× the
 * speed of a WebAssembly SHA-256 whose state could be saved in the record: measured 1.4 GB/s vs
 * 125–155 MiB/s here, which halved attempt ingest). It lives in memory only; after a restart it is
 * rebuilt by re-reading the committed bytes once (see {@link AttemptHashes}).
 */
export class AttemptHash {
  readonly #hash: Hash = createHash('sha256')
  #bytes = 0

  /** Bytes hashed so far. */
  get bytes(): number {
    return this.#bytes
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk)
    this.#bytes += chunk.length
  }

  /** Passes `body` through, hashing every chunk as the store pulls it. */
  async *wrap(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      this.update(chunk)
      yield chunk
    }
  }

  /** The digest so far, base64 (the running hash stays usable). */
  digestBase64(): string {
    return this.#hash.copy().digest('base64')
  }
}

/** Attempts whose hash is kept, at most; an evicted one is rebuilt from its stored bytes if it resumes. */
const KEPT_HASHES = 4096

/**
 * The running hashes of attempts in progress in this process, by upload id, in LRU order. A hash is
 * valid only for the exact committed offset it covers: a write that committed other than what it
 * hashed (a storage failure mid-write) drops it, and the next write rebuilds it.
 */
export class AttemptHashes {
  readonly #hashes = new LruMap<string, AttemptHash>(KEPT_HASHES)

  /** The hash of `id` covering exactly `offset` bytes, if this process has it. */
  take(id: string, offset: number): AttemptHash | undefined {
    const hash = this.#hashes.get(id)
    return hash?.bytes === offset ? hash : undefined
  }

  keep(id: string, hash: AttemptHash): void {
    this.#hashes.set(id, hash)
  }

  drop(id: string): void {
    this.#hashes.delete(id)
  }
}
