// The backends of a gateway process — its default directories, or buckets of the real S3 server —
// by position in `--backends`, and what a test does to them behind the gateway's back, so one
// durability suite runs over either kind.
import { readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestBuckets, s3Flags, type S3TestEnv } from '@tessera/storage/testing'

/** A block as a manifest line names it. */
export interface StoredBlockRef {
  readonly backend: string
  readonly key: string
  /** Offset of the block within the segment `key` (absent for a block stored whole). */
  readonly offset?: number
}

/** The media of one gateway's `count` backends, by index. */
export interface BackendMedium {
  readonly kind: 'fs' | 's3'
  /** What to add to the gateway's command line (empty: the default directories under `--data`). */
  readonly args: readonly string[]
  /** The backend vanishes, as a lost disk or a deleted bucket does: its directory removed, or its bucket emptied and deleted. */
  lose(index: number): Promise<void>
  /** Flips one byte at `at` of a stored block, wherever the layout put it (its own file or object, or a segment). */
  corrupt(ref: StoredBlockRef, at: number): Promise<void>
  /** Every block (or segment) the backend's medium holds. */
  blocks(index: number): Promise<string[]>
  /** Removes what the medium made outside the data directory (buckets). Never throws. */
  dispose(): Promise<void>
}

/**
 * The default `count` backend directories of a gateway started with `--data dataDir`. A restart
 * recreates a removed one with a new id, so ids are read afresh on every use.
 */
export function fsMedium(dataDir: string, count: number): BackendMedium {
  const dir = (i: number): string => join(dataDir, 'backends', `b${i}`)
  const dirOf = async (backend: string): Promise<string> => {
    for (let i = 0; i < count; i++) {
      const id = await readFile(join(dir(i), '.tessera-backend-id'), 'utf8').catch(() => '')
      if (id.trim() === backend) return dir(i)
    }
    throw new Error(`no directory holds backend ${backend}`)
  }
  return {
    kind: 'fs',
    args: [],
    // Retried: the gateway's active probe may write into the directory while it is being removed (ENOTEMPTY).
    lose: (i) => rm(dir(i), { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }),
    async corrupt(ref, at) {
      const path = join(await dirOf(ref.backend), `${ref.key}~blk`)
      const bytes = await readFile(path)
      bytes[(ref.offset ?? 0) + at]! ^= 0xff
      await writeFile(path, bytes)
    },
    async blocks(i) {
      const entries = await readdir(dir(i), { recursive: true, withFileTypes: true })
      return entries.filter((e) => e.isFile() && e.name.endsWith('~blk')).map((e) => join(e.parentPath, e.name))
    },
    dispose: async () => {},
  }
}

/**
 * `count` fresh buckets of the test server as `s3://<bucket>/blocks` backends, created by the
 * gateway at startup (`--s3-create-buckets`), also when a restart finds one deleted.
 */
export function s3Medium(env: S3TestEnv, count: number, tag: string): BackendMedium {
  const buckets = new TestBuckets(env)
  const names = buckets.fresh(count, tag)
  const PREFIX = 'blocks'
  // The id is the bucket and prefix (apps/gateway/src/backend-identity.ts), so this needs no lookup.
  const bucketOf = (backend: string): string => {
    const bucket = names.find((b) => backend === `s3:${b}/${PREFIX}`)
    if (!bucket) throw new Error(`no bucket holds backend ${backend}`)
    return bucket
  }
  return {
    kind: 's3',
    args: ['--backends', names.map((b) => `s3://${b}/${PREFIX}`).join(','), ...s3Flags(env)],
    lose: (i) => buckets.remove(names[i]!),
    corrupt: (ref, at) => buckets.flip(bucketOf(ref.backend), `${PREFIX}/${ref.key}`, (ref.offset ?? 0) + at),
    blocks: (i) => buckets.keys(names[i]!, `${PREFIX}/`),
    dispose: () => buckets.dispose(),
  }
}
