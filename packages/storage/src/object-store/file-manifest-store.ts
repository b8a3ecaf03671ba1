import { randomBytes } from 'node:crypto'
import { open, mkdir, readFile, readdir, rename, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StorageError } from '../errors.js'
import type { Manifest, StripeRecord } from './manifest.js'
import type { ManifestStore } from './manifest-store.js'
import { assertObjectId } from './object-id.js'

/** Options of {@link FileManifestStore.open}. */
export interface FileManifestStoreOptions {
  /** Directory holding one `<id>.manifest` file per object; created when missing. */
  readonly dir: string
  /**
   * `'never'` (default): a change is durable once written to the OS, which survives `kill -9` of
   * this process but not a power cut. `'always'`: fsync file (and directory on create) before a
   * change resolves, which survives a power cut and costs a disk flush per stripe commit.
   */
  readonly fsync?: 'never' | 'always'
}

interface Header extends Manifest {}
interface AppendLine {
  readonly append: readonly StripeRecord[]
}

const SUFFIX = '.manifest'
/** Manifests kept parsed in memory (each ≈ 0.5 KiB per stripe). */
const CACHED_MANIFESTS = 64

/**
 * Manifests as local files. Each file is JSON lines: a header line (the whole manifest at some
 * version) followed by append lines (one stripe batch each, one version each). An append is one
 * `write(2)` with `O_APPEND`, hence atomic against a process crash; a line torn by a power cut has
 * no trailing newline and is dropped (and truncated away before the next append). `update`
 * rewrites the file through a temp file and a rename. One process writes a directory at a time:
 * the store keeps recently used manifests parsed, so neither a read nor an append re-parses the file.
 */
export class FileManifestStore implements ManifestStore {
  /** Per-id promise chain: one writer at a time per manifest within this process. */
  readonly #queues = new Map<string, Promise<unknown>>()
  readonly #checkedTail = new Set<string>()
  /**
   * The manifests this process used last (a Map in LRU order): this store is the directory's one
   * writer, so they stay exact, and a request reads a manifest without re-parsing the file (which
   * grows with the upload), an append costs one `write(2)`.
   */
  readonly #cache = new Map<string, Manifest>()

  private constructor(
    readonly dir: string,
    private readonly fsync: boolean,
  ) {}

  /** Creates the directory when needed and returns the store. */
  static async open(options: FileManifestStoreOptions): Promise<FileManifestStore> {
    const fsync = options.fsync ?? 'never'
    if (fsync !== 'never' && fsync !== 'always') {
      throw new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `Expected \`fsync\` to be 'never' or 'always', got ${JSON.stringify(fsync)}`)
    }
    await mkdir(options.dir, { recursive: true })
    return new FileManifestStore(options.dir, fsync === 'always')
  }

  async get(id: string): Promise<Manifest | undefined> {
    assertObjectId(id)
    return this.#cached(id) ?? this.#read(id)
  }

  appendStripes(id: string, stripes: readonly StripeRecord[]): Promise<number> {
    assertObjectId(id)
    return this.#serial(id, async () => {
      const current = this.#cached(id) ?? (await this.#read(id))
      if (current === undefined) {
        await this.#writeWhole(id, { version: 1, stripes: [...stripes], sources: [], referrers: [], deleted: false })
        return 1
      }
      await this.#repairTail(id)
      const line: AppendLine = { append: stripes }
      const fh = await open(this.#path(id), 'a')
      try {
        await fh.write(JSON.stringify(line) + '\n')
        if (this.fsync) await fh.sync()
      } finally {
        await fh.close()
      }
      this.#remember(id, { ...current, stripes: [...current.stripes, ...stripes], version: current.version + 1 })
      return current.version + 1
    })
  }

  update(id: string, expectedVersion: number, next: Omit<Manifest, 'version'>): Promise<Manifest> {
    assertObjectId(id)
    return this.#serial(id, async () => {
      const current = this.#cached(id) ?? (await this.#read(id))
      const version = current?.version ?? 0
      if (version !== expectedVersion) {
        throw new StorageError('STORAGE_ERR_CONFLICT', `manifest ${id} is at version ${version}, expected ${expectedVersion}`)
      }
      const manifest: Manifest = { ...next, version: expectedVersion + 1 }
      await this.#writeWhole(id, manifest)
      return manifest
    })
  }

  delete(id: string): Promise<void> {
    assertObjectId(id)
    return this.#serial(id, async () => {
      await rm(this.#path(id), { force: true })
      this.#checkedTail.delete(id)
      this.#cache.delete(id)
    })
  }

  async *list(): AsyncIterable<string> {
    for (const name of await readdir(this.dir)) {
      if (name.endsWith(SUFFIX)) yield name.slice(0, -SUFFIX.length)
    }
  }

  #cached(id: string): Manifest | undefined {
    const manifest = this.#cache.get(id)
    if (manifest) {
      this.#cache.delete(id)
      this.#cache.set(id, manifest)
    }
    return manifest
  }

  #remember(id: string, manifest: Manifest): void {
    this.#cache.delete(id)
    this.#cache.set(id, manifest)
    if (this.#cache.size > CACHED_MANIFESTS) this.#cache.delete(this.#cache.keys().next().value!)
  }

  #path(id: string): string {
    return join(this.dir, id + SUFFIX)
  }

  async #read(id: string): Promise<Manifest | undefined> {
    let text: string
    try {
      text = await readFile(this.#path(id), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#cache.delete(id)
        return undefined
      }
      throw new StorageError('STORAGE_ERR_IO', `cannot read manifest ${id}`, { cause: err })
    }
    // Only newline-terminated lines were ever acknowledged; a torn tail is dropped.
    const lines = text.split('\n').slice(0, -1)
    const [head, ...appends] = lines
    if (head === undefined) return undefined
    try {
      const header = JSON.parse(head) as Header
      const stripes = [...header.stripes]
      for (const line of appends) stripes.push(...(JSON.parse(line) as AppendLine).append)
      const manifest: Manifest = { ...header, stripes, version: header.version + appends.length }
      this.#remember(id, manifest)
      return manifest
    } catch (err) {
      throw new StorageError('STORAGE_ERR_CORRUPT', `manifest ${id} is not valid JSON lines`, { cause: err })
    }
  }

  async #writeWhole(id: string, manifest: Manifest): Promise<void> {
    const tmp = join(this.dir, `.tmp-${id}-${randomBytes(6).toString('hex')}`)
    try {
      await writeFile(tmp, JSON.stringify(manifest) + '\n', { flush: this.fsync })
      await rename(tmp, this.#path(id))
    } catch (err) {
      await rm(tmp, { force: true })
      throw new StorageError('STORAGE_ERR_IO', `cannot write manifest ${id}`, { cause: err })
    }
    this.#checkedTail.add(id)
    this.#remember(id, manifest)
    if (this.fsync) await syncDir(this.dir)
  }

  /** Truncates a tail torn by a power cut, so the next append starts on a fresh line. */
  async #repairTail(id: string): Promise<void> {
    if (this.#checkedTail.has(id)) return
    const text = await readFile(this.#path(id))
    const end = text.lastIndexOf(0x0a) + 1
    if (end !== text.length) await truncate(this.#path(id), end)
    this.#checkedTail.add(id)
  }

  #serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(id) ?? Promise.resolve()
    const next = previous.then(task, task)
    const settled = next.catch(() => undefined)
    this.#queues.set(id, settled)
    void settled.then(() => {
      if (this.#queues.get(id) === settled) this.#queues.delete(id)
    })
    return next
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
