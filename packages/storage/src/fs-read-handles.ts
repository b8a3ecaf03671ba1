import { type FileHandle, open } from 'node:fs/promises'

interface Entry {
  readonly handle: Promise<FileHandle>
  /** Reads using it now. */
  users: number
  /** Closes it once idle for `idleMs`. */
  timer: ReturnType<typeof setTimeout> | undefined
  /** Forgotten while in use: closed by its last user. */
  dropped: boolean
}

/**
 * Read-only file handles kept open between range reads of the same file — a GET reads a segment
 * block by block, and opening and closing the file for each block were two of the three
 * thread-pool round trips of every block read. At most `maxOpen` handles, each closed after
 * `idleMs` without a read; a file that is written, replaced or deleted through the backend is
 * {@link forget}ten first, so no read goes through a handle to bytes the path no longer names.
 * One removed from outside — the file, or the whole root (an unmounted disk, an operator's rm) —
 * is caught by the `fstat` each read makes beside it (no links left): the read then opens the path
 * afresh and fails as the path does, so a vanished backend is seen by its next read, not once its
 * hot segments idle out. (The `fstat` runs alongside the read: one thread-pool round trip, where
 * open + read + close were three.)
 */
export class FsReadHandles {
  /** Insertion order is recency: the first idle entry is the least recently used. */
  readonly #entries = new Map<string, Entry>()

  constructor(
    private readonly maxOpen = 64,
    private readonly idleMs = 2000,
  ) {}

  /**
   * Reads up to `length` bytes at `offset` of the file at `path`; fewer when the file ends before.
   * Rejects with the file system's error (ENOENT, EISDIR, …).
   */
  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const reused = this.#entries.has(path)
    const entry = this.#acquire(path)
    let read: [{ nlink: number } | undefined, Uint8Array]
    try {
      const handle = await entry.handle
      read = await Promise.all([reused ? handle.stat() : undefined, readFully(handle, offset, length)])
    } catch (err) {
      this.forget(path)
      throw err
    } finally {
      this.#release(path, entry)
    }
    const [stats, bytes] = read
    if (stats?.nlink !== 0) return bytes
    // No links left: removed from outside. A fresh open fails (or reads) as the path does now.
    this.forget(path)
    return this.readRange(path, offset, length)
  }

  /** Stops reusing the handle of `path` (closed now, or by the read still using it). */
  forget(path: string): void {
    const entry = this.#entries.get(path)
    if (!entry) return
    this.#entries.delete(path)
    clearTimeout(entry.timer)
    entry.dropped = true
    if (entry.users === 0) close(entry)
  }

  #acquire(path: string): Entry {
    let entry = this.#entries.get(path)
    if (entry) {
      // Most recently used last.
      this.#entries.delete(path)
      clearTimeout(entry.timer)
    } else {
      entry = { handle: open(path, 'r'), users: 0, timer: undefined, dropped: false }
      entry.handle.catch(() => undefined)
      for (const [p, e] of this.#entries) {
        if (this.#entries.size < this.maxOpen) break
        if (e.users === 0) this.forget(p)
      }
    }
    entry.users++
    this.#entries.set(path, entry)
    return entry
  }

  #release(path: string, entry: Entry): void {
    entry.users--
    if (entry.users > 0) return
    if (entry.dropped || this.#entries.size > this.maxOpen) {
      if (this.#entries.get(path) === entry) this.#entries.delete(path)
      close(entry)
      return
    }
    entry.timer = setTimeout(() => this.forget(path), this.idleMs)
    entry.timer.unref()
  }
}

/** Up to `length` bytes at `offset` of `handle`; fewer when the file ends before. */
async function readFully(handle: FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const out = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, offset + done)
    if (bytesRead === 0) break
    done += bytesRead
  }
  return done === length ? out : out.subarray(0, done)
}

function close(entry: Entry): void {
  entry.handle.then((h) => h.close()).catch(() => undefined)
}
