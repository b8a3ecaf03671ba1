import type { FileHandle } from 'node:fs/promises'
import { throwIfAborted } from './abort.js'
import type { BackendCallOptions, SegmentWriter } from './backend.js'
import { StorageError } from './errors.js'

/**
 * A segment file of `FsBackend` open for positional writes (`pwrite` through the file handle):
 * one file creation per segment instead of open + write + close + rename per block.
 */
export class FsSegmentWriter implements SegmentWriter {
  #closed: Promise<void> | undefined

  constructor(
    private readonly handle: FileHandle,
    private readonly what: string,
    private readonly sync: boolean,
  ) {}

  async write(offset: number, bytes: Uint8Array, options: BackendCallOptions = {}): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`offset\` to be an integer from 0 and up, got \`${offset}\` (${typeof offset})`)
    }
    throwIfAborted(options.signal, this.what)
    if (this.#closed) throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `${this.what}: segment is closed`)
    try {
      for (let done = 0; done < bytes.byteLength; ) {
        const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done, offset + done)
        done += bytesWritten
      }
      if (this.sync) await this.handle.datasync()
    } catch (err) {
      throw new StorageError('STORAGE_ERR_IO', `${this.what} failed at offset ${offset}: ${(err as Error).message}`, { cause: err })
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.handle.close().catch(() => undefined)
    return this.#closed
  }
}
