import { randomBytes } from 'node:crypto'
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, statfs, unlink } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { abortableStream, abortedError, raceAbort, throwIfAborted } from './abort.js'
import type { Backend, BackendCallOptions, BackendCapacity, BlockBody, BlockStat, SegmentWriter } from './backend.js'
import { FsReadHandles } from './fs-read-handles.js'
import { FsSegmentWriter } from './fs-segment.js'
import { assertBlockKey, assertBlockKeyPrefix, assertPutArguments, isBlockKeySegment } from './block-key.js'
import { StorageError, isStorageError } from './errors.js'
import { invalidOption } from './invalid-option.js'

/**
 * When {@link FsBackend} forces bytes to the medium.
 *
 * - `'never'`: rely on the page cache. A crashed process (even `kill -9`) loses nothing that
 *   `put` acknowledged, because the kernel still holds the bytes; a power cut or kernel panic may
 *   lose recent blocks (never leaving one half-written under its key, thanks to the rename).
 * - `'always'`: `fsync` the block file before the rename and its directory after it (and the
 *   parent of every directory `put` creates), so an acknowledged block survives a power cut.
 *   Costs one or two disk flushes per `put`.
 */
export type FsyncPolicy = 'never' | 'always'

/** Options of {@link FsBackend.open}. */
export interface FsBackendOptions {
  /** Stable backend id, unique among the backends of one store (it is written into manifests). */
  readonly id: string
  /** Directory that holds the blocks; `open()` creates it with its parents. */
  readonly root: string
  /** Durability of `put`, see {@link FsyncPolicy}. Default `'never'`. */
  readonly fsync?: FsyncPolicy
}

/** Defaults of the optional {@link FsBackendOptions}. */
export const defaultFsBackendOptions: Readonly<{ fsync: FsyncPolicy }> = Object.freeze({ fsync: 'never' })

/** {@link FsBackendOptions} with defaults applied and `root` made absolute. */
export type ResolvedFsBackendOptions = Required<FsBackendOptions>

/**
 * Validates `options` and applies {@link defaultFsBackendOptions}; never mutates `options`.
 *
 * @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` naming the option, the expected and the actual value.
 */
export function resolveFsBackendOptions(options: FsBackendOptions): ResolvedFsBackendOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options)
  const { id, root, fsync = defaultFsBackendOptions.fsync } = options
  if (typeof id !== 'string' || id === '') throw invalidOption('id', 'a non-empty string', id)
  if (typeof root !== 'string' || root === '' || root.includes('\0')) throw invalidOption('root', 'a directory path', root)
  if (fsync !== 'never' && fsync !== 'always') throw invalidOption('fsync', "'never' or 'always'", fsync)
  return { id, root: resolve(root), fsync }
}

// A block file is its key's last segment plus this suffix, in the directories of the other
// segments: `u1/0-3` lives at `<root>/u1/0-3~blk`. `~` is outside the key alphabet, so a block
// (`a`) never collides with a directory of other blocks (`a/b`), and no key names a temp file.
const BLOCK_SUFFIX = '~blk'
// Temp files sit next to their block (same file system, so rename is atomic) and are never listed.
const TEMP_PREFIX = '.tmp~'
const MKDIR_ATTEMPTS = 4

/**
 * A {@link Backend} that keeps each block as one file under a root directory.
 *
 * - Atomic: `put` writes `.tmp~<random>` next to the block and renames it over the block, so a
 *   reader sees the old or the new bytes, never a mix; on error or abort the temp file is removed,
 *   and `open()` removes any a crash left behind. One `FsBackend` per root at a time.
 * - Fan-out: the key's `/` segments are directories (`<uploadId>/<stripe>-<block>` puts one
 *   upload's blocks in one directory); `delete` prunes directories it empties.
 * - A vanished root (the disk or directory was removed) stays dead: reads reject
 *   `STORAGE_ERR_NOT_FOUND`, `put`, `list` and `capacity` reject `STORAGE_ERR_UNAVAILABLE`, and
 *   nothing recreates the root; only `open()` creates it. (Range reads go through segment
 *   handles kept open up to 2 s after their last read, each read checking with `fstat` that the
 *   file still has a link: a file or root removed from outside is seen by the next read.)
 * - Errors: `STORAGE_ERR_NOT_FOUND` (ENOENT), `STORAGE_ERR_IO` (ENOSPC, EACCES, EIO, …),
 *   `STORAGE_ERR_INVALID_KEY` (bad key, or a name too long for the file system),
 *   `STORAGE_ERR_ABORTED` (with the signal's reason as `cause`). An error thrown by a streamed
 *   `put` body propagates unchanged: a failing client is not a failing disk.
 */
export class FsBackend implements Backend {
  /** Stable id, from the options. */
  readonly id: string
  /** Absolute path of the root directory. */
  readonly root: string
  /** The fsync policy in force. */
  readonly fsync: FsyncPolicy
  /** Segment files kept open between the range reads of their blocks. */
  readonly #handles = new FsReadHandles()

  private constructor(options: ResolvedFsBackendOptions) {
    this.id = options.id
    this.root = options.root
    this.fsync = options.fsync
  }

  /**
   * Creates the root directory (with parents) if needed, removes temp files a crash left
   * behind (one walk of the tree), and returns the backend.
   *
   * @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` for invalid options, `STORAGE_ERR_IO`
   *   when the root cannot be created or is not a directory.
   */
  static async open(options: FsBackendOptions): Promise<FsBackend> {
    const backend = new FsBackend(resolveFsBackendOptions(options))
    try {
      await mkdir(backend.root, { recursive: true })
      if (!(await stat(backend.root)).isDirectory()) throw new Error('not a directory')
      await backend.#sweep(backend.root)
    } catch (err) {
      throw new StorageError('STORAGE_ERR_IO', `Cannot open backend ${backend.id} at ${backend.root}: ${messageOf(err)}`, { cause: err })
    }
    return backend
  }

  /** See {@link Backend.put}. Rejects `STORAGE_ERR_UNAVAILABLE` when the root has vanished. */
  async put(key: string, body: BlockBody, options: BackendCallOptions = {}): Promise<{ readonly bytes: number }> {
    assertPutArguments(key, body)
    const { signal } = options
    const what = `put ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(signal, what)
    const file = this.#pathOf(key)
    const dir = dirname(file)
    const temp = join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'))
    let handle: FileHandle | undefined
    let renamed = false
    try {
      handle = await this.#createTemp(key, temp)
      const bytes = await writeBody(handle, body, signal, what)
      if (this.fsync === 'always') await handle.sync()
      const closing = handle
      handle = undefined
      await closing.close()
      throwIfAborted(signal, what) // the last moment the put can still leave no trace
      await rename(temp, file)
      renamed = true
      this.#handles.forget(file)
      if (this.fsync === 'always') await fsyncDirectory(dir)
      return { bytes }
    } catch (err) {
      await handle?.close().catch(() => {})
      if (!renamed) await rm(temp, { force: true }).catch(() => {})
      if (err instanceof SourceFailure) throw err.error
      if (errno(err) === 'ENOENT' && !(await this.#rootExists())) throw this.#gone(what, err)
      throw toStorageError(err, what, signal, 'STORAGE_ERR_IO')
    }
  }

  /**
   * See {@link Backend.createSegment}: the segment is the block file itself (listed, stat'ed and
   * deleted like one), written in place with positional writes; `fsync: 'always'` syncs each write.
   */
  async createSegment(key: string, options: BackendCallOptions = {}): Promise<SegmentWriter> {
    assertBlockKey(key)
    const what = `segment ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(options.signal, what)
    try {
      const handle = await this.#createTemp(key, this.#pathOf(key))
      if (this.fsync === 'always') await fsyncDirectory(dirname(this.#pathOf(key)))
      return new FsSegmentWriter(handle, what, this.fsync === 'always')
    } catch (err) {
      if (errno(err) === 'EEXIST') throw new StorageError('STORAGE_ERR_CONFLICT', `${what} already exists`, { cause: err })
      if (errno(err) === 'ENOENT' && !(await this.#rootExists())) throw this.#gone(what, err)
      throw toStorageError(err, what, options.signal, 'STORAGE_ERR_IO')
    }
  }

  /** See {@link Backend.readRange}. */
  async readRange(key: string, offset: number, length: number, options: BackendCallOptions = {}): Promise<Uint8Array> {
    assertBlockKey(key)
    const what = `read ${length} bytes at ${offset} of ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(options.signal, what)
    try {
      return await this.#handles.readRange(this.#pathOf(key), offset, length)
    } catch (err) {
      throw toStorageError(err, what, options.signal, 'STORAGE_ERR_NOT_FOUND')
    }
  }

  /** See {@link Backend.get}. Errors while streaming are `StorageError`s too (`ABORTED`, `IO`). */
  async get(key: string, options: BackendCallOptions = {}): Promise<Readable> {
    assertBlockKey(key)
    const { signal } = options
    const what = `get ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(signal, what)
    let handle: FileHandle
    try {
      handle = await open(this.#pathOf(key), 'r')
    } catch (err) {
      throw toStorageError(err, what, signal, 'STORAGE_ERR_NOT_FOUND')
    }
    if (signal?.aborted) {
      await handle.close().catch(() => {})
      throw abortedError(signal, what)
    }
    return abortableStream(handle.createReadStream(), signal, what, (err) => toStorageError(err, what, signal, 'STORAGE_ERR_IO'))
  }

  /** See {@link Backend.read}. */
  async read(key: string, options: BackendCallOptions = {}): Promise<Uint8Array> {
    assertBlockKey(key)
    const { signal } = options
    const what = `read ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(signal, what)
    try {
      return await readFile(this.#pathOf(key), signal ? { signal } : {})
    } catch (err) {
      throw toStorageError(err, what, signal, 'STORAGE_ERR_NOT_FOUND')
    }
  }

  /** See {@link Backend.delete}. Also removes the directories it leaves empty (never the root). */
  async delete(key: string, options: BackendCallOptions = {}): Promise<void> {
    assertBlockKey(key)
    const { signal } = options
    const what = `delete ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(signal, what)
    try {
      this.#handles.forget(this.#pathOf(key))
      await unlink(this.#pathOf(key))
    } catch (err) {
      const code = errno(err)
      if (code === 'ENOENT' || code === 'ENOTDIR') return
      throw toStorageError(err, what, signal, 'STORAGE_ERR_IO')
    }
    // Prune emptied directories, deepest first. A concurrent put that loses its directory here
    // recreates it (see #createTemp); ENOTEMPTY simply ends the pruning.
    const segments = key.split('/').slice(0, -1)
    for (let depth = segments.length; depth > 0; depth--) {
      try {
        await rmdir(join(this.root, ...segments.slice(0, depth)))
      } catch {
        break
      }
    }
  }

  /** See {@link Backend.stat}. */
  async stat(key: string, options: BackendCallOptions = {}): Promise<BlockStat | undefined> {
    assertBlockKey(key)
    const { signal } = options
    const what = `stat ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(signal, what)
    try {
      const stats = await stat(this.#pathOf(key))
      if (!stats.isFile()) throw new StorageError('STORAGE_ERR_IO', `${what} failed: not a regular file`)
      return { bytes: stats.size, mtimeMs: stats.mtimeMs }
    } catch (err) {
      const code = errno(err)
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
      throw toStorageError(err, what, signal, 'STORAGE_ERR_IO')
    }
  }

  /**
   * See {@link Backend.list}. Walks only the directories the prefix can reach; temp files and
   * foreign files are skipped. Rejects `STORAGE_ERR_UNAVAILABLE` when the root has vanished.
   */
  async *list(prefix: string, options: BackendCallOptions = {}): AsyncIterable<string> {
    assertBlockKeyPrefix(prefix)
    const { signal } = options
    const what = `list ${JSON.stringify(prefix)} on ${this.id}`
    throwIfAborted(signal, what)
    const cut = prefix.lastIndexOf('/') + 1
    const base = prefix.slice(0, cut)
    const partial = prefix.slice(cut)
    const stack: Array<{ dir: string; keyPrefix: string; top: boolean }> = [
      { dir: join(this.root, ...base.split('/').slice(0, -1)), keyPrefix: base, top: true },
    ]
    for (let next = stack.pop(); next; next = stack.pop()) {
      throwIfAborted(signal, what)
      const { dir, keyPrefix, top } = next
      let entries
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch (err) {
        const code = errno(err)
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw toStorageError(err, what, signal, 'STORAGE_ERR_IO')
        if (!(await this.#rootExists())) throw this.#gone(what, err)
        continue // the prefix reaches nothing, or a delete pruned the directory meanwhile
      }
      for (const entry of entries) {
        if (entry.isFile() && entry.name.endsWith(BLOCK_SUFFIX)) {
          const segment = entry.name.slice(0, -BLOCK_SUFFIX.length)
          if (isBlockKeySegment(segment) && (!top || segment.startsWith(partial))) yield keyPrefix + segment
        } else if (entry.isDirectory() && isBlockKeySegment(entry.name) && (!top || entry.name.startsWith(partial))) {
          stack.push({ dir: join(dir, entry.name), keyPrefix: `${keyPrefix}${entry.name}/`, top: false })
        }
      }
    }
  }

  /** See {@link Backend.capacity}: the file system's size and the space available to this process. */
  async capacity(options: BackendCallOptions = {}): Promise<BackendCapacity> {
    const { signal } = options
    const what = `capacity of ${this.id}`
    throwIfAborted(signal, what)
    try {
      const fs = await statfs(this.root)
      return { totalBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize }
    } catch (err) {
      if (errno(err) === 'ENOENT') throw this.#gone(what, err)
      throw toStorageError(err, what, signal, 'STORAGE_ERR_IO')
    }
  }

  #pathOf(key: string): string {
    const segments = key.split('/')
    const last = segments.pop() as string
    return join(this.root, ...segments, last + BLOCK_SUFFIX)
  }

  async #createTemp(key: string, temp: string): Promise<FileHandle> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await open(temp, 'wx')
      } catch (err) {
        if (errno(err) !== 'ENOENT' || attempt === MKDIR_ATTEMPTS) throw err
      }
      await this.#makeParents(key.split('/').slice(0, -1))
    }
  }

  // mkdir one level at a time below the root, never `recursive`: that would recreate a root an
  // operator removed and make a dead disk look empty. An ENOENT surfaces to put(), which then
  // tells a vanished root (UNAVAILABLE) from a concurrent prune (retried by #createTemp).
  async #makeParents(segments: readonly string[]): Promise<void> {
    let dir = this.root
    for (const segment of segments) {
      const parent = dir
      dir = join(dir, segment)
      try {
        await mkdir(dir)
        if (this.fsync === 'always') await fsyncDirectory(parent)
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err
      }
    }
  }

  async #rootExists(): Promise<boolean> {
    try {
      return (await stat(this.root)).isDirectory()
    } catch {
      return false
    }
  }

  #gone(what: string, cause: unknown): StorageError {
    return new StorageError('STORAGE_ERR_UNAVAILABLE', `${what} failed: root directory ${this.root} is gone`, { cause })
  }

  /** Removes the temporary files a crash left under `dir`; a directory that vanishes meanwhile (another opener's probe removed it) is skipped. */
  async #sweep(dir: string): Promise<void> {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && dir !== this.root) return
      throw err
    }
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isFile() && entry.name.startsWith(TEMP_PREFIX)) await rm(path, { force: true })
      else if (entry.isDirectory() && isBlockKeySegment(entry.name)) await this.#sweep(path)
    }
  }
}

/** Wraps an error thrown by the caller's body, so put() can rethrow it unchanged. */
class SourceFailure {
  constructor(readonly error: unknown) {}
}

async function writeBody(handle: FileHandle, body: BlockBody, signal: AbortSignal | undefined, what: string): Promise<number> {
  if (body instanceof Uint8Array) {
    await writeAll(handle, body)
    return body.byteLength
  }
  const chunks = body[Symbol.asyncIterator]()
  let bytes = 0
  let finished = false
  try {
    for (;;) {
      let step: IteratorResult<Uint8Array>
      try {
        // A source that never yields must not outlive the signal.
        step = await raceAbort(chunks.next(), signal, what)
      } catch (err) {
        if (isStorageError(err, 'STORAGE_ERR_ABORTED')) throw err
        finished = true
        throw new SourceFailure(err)
      }
      if (step.done) {
        finished = true
        return bytes
      }
      const chunk: unknown = step.value
      if (!(chunk instanceof Uint8Array)) throw invalidOption('body chunk', 'a Uint8Array', chunk)
      await writeAll(handle, chunk)
      bytes += chunk.byteLength
      throwIfAborted(signal, what)
    }
  } finally {
    // Release the source (destroys a Node Readable); do not wait, it may be stuck.
    if (!finished) chunks.return?.().catch(() => {})
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let offset = 0; offset < chunk.byteLength; ) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset)
    offset += bytesWritten
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return // directories cannot be opened for fsync there
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function toStorageError(err: unknown, what: string, signal: AbortSignal | undefined, absent: 'STORAGE_ERR_NOT_FOUND' | 'STORAGE_ERR_IO'): StorageError {
  if (err instanceof StorageError) return err
  if (signal?.aborted) return abortedError(signal, what)
  const code = errno(err)
  if ((code === 'ENOENT' || code === 'ENOTDIR') && absent === 'STORAGE_ERR_NOT_FOUND') {
    return new StorageError(absent, `${what} failed: no such block`, { cause: err })
  }
  if (code === 'ENAMETOOLONG') return new StorageError('STORAGE_ERR_INVALID_KEY', `${what} failed: key too long for the file system`, { cause: err })
  return new StorageError('STORAGE_ERR_IO', `${what} failed: ${messageOf(err)}`, { cause: err })
}

function errno(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
