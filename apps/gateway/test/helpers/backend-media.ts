// Where a test gateway's backends live — directories or buckets of the real S3 server — and what a
// test does to them behind the gateway's back, so one durability test runs over either kind.
import { readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { BlockRef } from '@tessera/storage'
import { s3BackendId } from '../../src/backend-identity.js'
import type { GatewayConfig } from '../../src/config.js'
import { TestBuckets, s3Flags, type S3TestEnv } from '@tessera/storage/testing'

/** The media of one gateway's backends. */
export interface BackendMedium {
  readonly kind: 'fs' | 's3'
  /**
   * What a read of a block on a lost backend reports, by its adapter's contract: `missing`
   * (`STORAGE_ERR_NOT_FOUND`: a vanished `FsBackend` root reads as absent blocks) or `unreadable`
   * (`STORAGE_ERR_UNAVAILABLE`: `S3Backend` on a deleted bucket). Either is read around and regenerated.
   */
  readonly lostBlockFault: 'missing' | 'unreadable'
  /** `--backends …` and whatever else that kind needs (empty: the default directories). */
  readonly flags: readonly string[]
  /** Learns which backend id lives where, from the configuration the gateway opened. */
  bind(config: GatewayConfig): Promise<void>
  /** The backend vanishes, as a lost disk or a deleted bucket does: its directory is removed, or its bucket emptied and deleted. */
  lose(backend: string): Promise<void>
  /** Flips one byte of a stored block on the medium itself (bit rot: the backend answers, wrongly). */
  rot(ref: BlockRef): Promise<void>
  /** The block keys (or segment keys) the backend's medium holds, sorted. */
  keys(backend: string): Promise<string[]>
  /** Removes what the medium made outside the data directory (buckets). Never throws. */
  dispose(): Promise<void>
}

/** `count` directories `b0…` under the data directory, or (no count) the gateway's default ones. */
export function fsMedium(count?: number): BackendMedium {
  const dirs = new Map<string, string>()
  const dirOf = (backend: string): string => {
    const dir = dirs.get(backend)
    if (!dir) throw new Error(`no directory for backend ${backend}`)
    return dir
  }
  return {
    kind: 'fs',
    lostBlockFault: 'missing',
    flags: count === undefined ? [] : ['--backends', Array.from({ length: count }, (_, i) => `b${i}`).join(',')],
    async bind(config) {
      for (const b of config.backends) if (b.kind === 'fs') dirs.set((await readFile(join(b.dir, '.tessera-backend-id'), 'utf8')).trim(), b.dir)
    },
    // Retried: the gateway's active probe may write into the directory while it is being removed (ENOTEMPTY).
    lose: (backend) => rm(dirOf(backend), { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }),
    async rot(ref) {
      const parts = ref.key.split('/')
      const file = join(dirOf(ref.backend), ...parts.slice(0, -1), `${parts.at(-1)!}~blk`)
      const bytes = await readFile(file)
      const at = (ref.offset ?? 0) + 7
      bytes[at] = bytes[at]! ^ 0x5a
      await writeFile(file, bytes)
    },
    async keys(backend) {
      const root = dirOf(backend)
      const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return []
        throw err
      })
      return entries.filter((e) => e.isFile() && e.name.endsWith('~blk')).map((e) => join(e.parentPath, e.name).slice(root.length + 1, -'~blk'.length)).sort()
    },
    dispose: async () => {},
  }
}

/** `count` fresh buckets of the test server, each backend under the prefix `blocks` (created by the gateway at startup). */
export function s3Medium(env: S3TestEnv, count: number, tag = 'gw'): BackendMedium {
  const buckets = new TestBuckets(env)
  const names = buckets.fresh(count, tag)
  const PREFIX = 'blocks'
  const where = new Map<string, string>()
  const bucketOf = (backend: string): string => {
    const bucket = where.get(backend)
    if (!bucket) throw new Error(`no bucket for backend ${backend}`)
    return bucket
  }
  return {
    kind: 's3',
    lostBlockFault: 'unreadable',
    flags: ['--backends', names.map((b) => `s3://${b}/${PREFIX}`).join(','), ...s3Flags(env)],
    async bind(config) {
      for (const b of config.backends) if (b.kind === 's3') where.set(s3BackendId(b.bucket, b.prefix), b.bucket)
    },
    lose: (backend) => buckets.remove(bucketOf(backend)),
    rot: (ref) => buckets.flip(bucketOf(ref.backend), `${PREFIX}/${ref.key}`, (ref.offset ?? 0) + 7),
    async keys(backend) {
      return (await buckets.keys(bucketOf(backend), `${PREFIX}/`)).map((k) => k.slice(PREFIX.length + 1))
    },
    dispose: () => buckets.dispose(),
  }
}
