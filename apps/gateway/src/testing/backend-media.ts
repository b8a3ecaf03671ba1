// The backends of a test gateway — directories or buckets of the real S3 server — and what a test
// does to them behind the gateway's back, so one durability suite runs over either kind: the
// gateway's own tests (in process) and the cross-process ones in test/.
import { readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestBuckets, s3Flags, type S3TestEnv } from '@tessera/storage/testing'
import { s3BackendId } from '../backend-identity.js'

/** A stored block as a manifest names it. */
export interface StoredBlockRef {
  readonly backend: string
  readonly key: string
  /** Offset of the block within the segment `key` (absent for a block stored whole). */
  readonly offset?: number
}

/** The media of one gateway's backends, in the order of its `--backends`. */
export interface BackendMedium {
  readonly kind: 'fs' | 's3'
  /**
   * What a read of a block on a lost backend reports, by its adapter's contract: `missing`
   * (`STORAGE_ERR_NOT_FOUND`: a vanished `FsBackend` root reads as absent blocks) or `unreadable`
   * (`STORAGE_ERR_UNAVAILABLE`: `S3Backend` on a deleted bucket). Either is read around and regenerated.
   */
  readonly lostBlockFault: 'missing' | 'unreadable'
  /** `--backends …` and whatever else that kind needs. */
  readonly flags: readonly string[]
  /** The id of the backend at `index` of `--backends` (a directory's is read afresh: a restart gives a recreated one a new id). */
  idOf(index: number): Promise<string>
  /** The backend vanishes, as a lost disk or a deleted bucket does: its directory is removed, or its bucket emptied and deleted. */
  lose(backend: string): Promise<void>
  /** Flips the byte at `at` of a stored block on the medium itself (bit rot: the backend answers, wrongly). */
  corrupt(ref: StoredBlockRef, at: number): Promise<void>
  /** The block (or segment) keys the backend's medium holds, sorted; none once it is lost. */
  keys(backend: string): Promise<string[]>
  /** Removes what the medium made outside the data directory (buckets). Never throws. */
  dispose(): Promise<void>
}

/** {@link BackendMedium} of directories: where a block lives is a file a test can reach. */
export interface FsMedium extends BackendMedium {
  readonly kind: 'fs'
  /** The file holding a stored block — the block's own, or the segment it is in at `ref.offset` (FsBackend's layout). */
  blockFile(ref: StoredBlockRef): Promise<string>
}

const ID_FILE = '.tessera-backend-id'
const BLOCK_SUFFIX = '~blk'

/** The directories `dirs` as backends (absolute paths). */
export function fsMedium(dirs: readonly string[]): FsMedium {
  const idAt = async (dir: string): Promise<string | undefined> => (await readFile(join(dir, ID_FILE), 'utf8').catch(() => undefined))?.trim()
  const dirOf = async (backend: string): Promise<string> => {
    for (const dir of dirs) if ((await idAt(dir)) === backend) return dir
    throw new Error(`no directory holds backend ${backend}`)
  }
  const blockFile = async (ref: StoredBlockRef): Promise<string> => join(await dirOf(ref.backend), `${ref.key}${BLOCK_SUFFIX}`)
  return {
    kind: 'fs',
    lostBlockFault: 'missing',
    flags: ['--backends', dirs.join(',')],
    async idOf(index) {
      const id = await idAt(dirs[index]!)
      if (id === undefined) throw new Error(`no backend in ${dirs[index]} (the gateway makes it at start; lost since?)`)
      return id
    },
    // Retried: the gateway's active probe may write into the directory while it is being removed (ENOTEMPTY).
    lose: async (backend) => rm(await dirOf(backend), { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }),
    blockFile,
    async corrupt(ref, at) {
      const file = await blockFile(ref)
      const bytes = await readFile(file)
      bytes[(ref.offset ?? 0) + at]! ^= 0xff
      await writeFile(file, bytes)
    },
    async keys(backend) {
      const root = await dirOf(backend).catch(() => undefined)
      if (root === undefined) return []
      const entries = await readdir(root, { recursive: true, withFileTypes: true })
      return entries.filter((e) => e.isFile() && e.name.endsWith(BLOCK_SUFFIX)).map((e) => join(e.parentPath, e.name).slice(root.length + 1, -BLOCK_SUFFIX.length)).sort()
    },
    dispose: async () => {},
  }
}

/** `count` fresh buckets of the test server, each backend under the prefix `blocks`, created by the gateway at startup (`--s3-create-buckets`). */
export function s3Medium(env: S3TestEnv, count: number, tag: string): BackendMedium {
  const buckets = new TestBuckets(env)
  const names = buckets.fresh(count, tag)
  const PREFIX = 'blocks'
  const bucketOf = (backend: string): string => {
    const bucket = names.find((b) => s3BackendId(b, PREFIX) === backend)
    if (!bucket) throw new Error(`no bucket holds backend ${backend}`)
    return bucket
  }
  return {
    kind: 's3',
    lostBlockFault: 'unreadable',
    flags: ['--backends', names.map((b) => `s3://${b}/${PREFIX}`).join(','), ...s3Flags(env)],
    idOf: async (index) => s3BackendId(names[index]!, PREFIX),
    lose: (backend) => buckets.remove(bucketOf(backend)),
    corrupt: (ref, at) => buckets.flip(bucketOf(ref.backend), `${PREFIX}/${ref.key}`, (ref.offset ?? 0) + at),
    async keys(backend) {
      return (await buckets.keys(bucketOf(backend), `${PREFIX}/`)).map((k) => k.slice(PREFIX.length + 1)).sort()
    },
    dispose: () => buckets.dispose(),
  }
}
