import { createSHA256, type IHasher } from 'hash-wasm'
import type { UploadRecord } from '../upload-record.js'

/**
 * The running SHA-256 of one attempt's bytes across PATCHes and restarts: hash-wasm's hasher, whose
 * internal state is saved into the upload record after every write (`save()`, ~100 bytes) and
 * loaded before the next. Node's own hash cannot export its state, hence hash-wasm.
 */
export class AttemptHash {
  #bytes: number

  private constructor(
    private readonly hasher: IHasher,
    startBytes: number,
  ) {
    this.#bytes = startBytes
  }

  /** A fresh hash (nothing hashed yet). */
  static async fresh(): Promise<AttemptHash> {
    const hasher = await createSHA256()
    hasher.init()
    return new AttemptHash(hasher, 0)
  }

  /** The hash saved in `record` when it covers exactly `offset` bytes; `undefined` otherwise (rebuild it). */
  static async saved(record: UploadRecord, offset: number): Promise<AttemptHash | undefined> {
    if (offset === 0) return AttemptHash.fresh()
    if (record.hash === undefined || record.hash.bytes !== offset) return undefined
    const hasher = await createSHA256()
    hasher.init()
    try {
      hasher.load(Buffer.from(record.hash.state, 'base64'))
    } catch {
      return undefined // not a state this hash-wasm can load: rebuild from the stored bytes
    }
    return new AttemptHash(hasher, offset)
  }

  /** Bytes hashed so far. */
  get bytes(): number {
    return this.#bytes
  }

  update(chunk: Uint8Array): void {
    this.hasher.update(chunk)
    this.#bytes += chunk.length
  }

  /** Passes `body` through, hashing every chunk as the store pulls it. */
  async *wrap(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      this.update(chunk)
      yield chunk
    }
  }

  /** The state to keep in the record. */
  save(): { bytes: number; state: string } {
    return { bytes: this.#bytes, state: Buffer.from(this.hasher.save()).toString('base64') }
  }

  /** The digest, base64 (ends the hash). */
  digestBase64(): string {
    return Buffer.from(this.hasher.digest('binary')).toString('base64')
  }
}
