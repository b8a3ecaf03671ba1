import { randomBytes } from 'node:crypto'
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { assertObjectId } from '../object-store/object-id.js'

/** A read-only copy of a stored block on another backend (same bytes, same checksum). */
export interface EchoCopy {
  readonly backend: string
  /** Key of the whole block on that backend. */
  readonly key: string
}

const SUFFIX = '.echoes'

/**
 * The echo map (seed 002's level 3): stored block → its echo copies on other backends, kept in
 * memory and persisted as one JSON file per object owning the blocks (`<id>.echoes`: block id →
 * copies), rewritten through a temp file and a rename, so a restart finds every copy made. One
 * process writes a directory at a time (the embedded default).
 */
export class FileEchoMap {
  readonly #byBlock = new Map<string, EchoCopy[]>()
  readonly #byObject = new Map<string, Set<string>>()
  readonly #queues = new Map<string, Promise<void>>()

  private constructor(readonly dir: string) {}

  /** Creates the directory when needed and loads every object's map. */
  static async open(options: { readonly dir: string }): Promise<FileEchoMap> {
    await mkdir(options.dir, { recursive: true })
    const map = new FileEchoMap(options.dir)
    for (const name of await readdir(options.dir)) {
      if (!name.endsWith(SUFFIX)) continue
      const owner = name.slice(0, -SUFFIX.length)
      const entries = JSON.parse(await readFile(join(options.dir, name), 'utf8')) as Record<string, EchoCopy[]>
      for (const [block, copies] of Object.entries(entries)) for (const copy of copies) map.#remember(owner, block, copy)
    }
    return map
  }

  /** The copies of stored block `blockId` (`EchoCache.idOf` of its ref). */
  copiesOf(blockId: string): readonly EchoCopy[] {
    return this.#byBlock.get(blockId) ?? []
  }

  /** Copies held, in total. */
  get size(): number {
    let n = 0
    for (const copies of this.#byBlock.values()) n += copies.length
    return n
  }

  /** Records a copy of a block `owner` stored (the copy was written and verified); durable once it resolves. */
  add(owner: string, blockId: string, copy: EchoCopy): Promise<void> {
    assertObjectId(owner)
    this.#remember(owner, blockId, copy)
    return this.#write(owner)
  }

  /** Forgets every copy of `owner`'s blocks (the object is purged, and its copies with it). */
  dropObject(owner: string): Promise<void> {
    assertObjectId(owner)
    for (const block of this.#byObject.get(owner) ?? []) this.#byBlock.delete(block)
    this.#byObject.delete(owner)
    return this.#write(owner)
  }

  #remember(owner: string, blockId: string, copy: EchoCopy): void {
    const copies = this.#byBlock.get(blockId) ?? []
    if (copies.some((c) => c.backend === copy.backend)) return
    this.#byBlock.set(blockId, [...copies, copy])
    let blocks = this.#byObject.get(owner)
    if (!blocks) this.#byObject.set(owner, (blocks = new Set()))
    blocks.add(blockId)
  }

  // One writer per object file at a time; each write stores the map as it is then.
  #write(owner: string): Promise<void> {
    const run = async (): Promise<void> => {
      const path = join(this.dir, `${owner}${SUFFIX}`)
      const blocks = this.#byObject.get(owner)
      if (!blocks) return rm(path, { force: true })
      const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
      await writeFile(tmp, JSON.stringify(Object.fromEntries([...blocks].map((b) => [b, this.#byBlock.get(b) ?? []]))))
      await rename(tmp, path)
    }
    const next = (this.#queues.get(owner) ?? Promise.resolve()).then(run, run)
    this.#queues.set(owner, next)
    return next
  }
}
