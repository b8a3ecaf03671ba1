// Test helper (not a test file): real FsBackends in a tmp dir behind FaultyBackends, a real manifest
// store, and an ObjectStore over them — shared by the object-store and repair tests.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FaultyBackend, FileManifestStore, FsBackend, ObjectStore, wholeBlocksOnly, type Backend, type ManifestStore, type ObjectStoreOptions, type StripeRecord } from '../src/index.js'
import { bytesOf } from './describe-backend.js'

export const BLOCK = 4096
export const STRIPE = 4 * BLOCK

/** Deterministic bytes ({@link bytesOf}) as a Buffer, for `.equals` and `Buffer.concat`. */
export function bytes(n: number, seed = 1): Buffer {
  const out = bytesOf(n, seed)
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength)
}

export async function* chunks(buf: Uint8Array, size = 5000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size))
}

export async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return Buffer.concat(parts)
}

export async function readAll(store: ObjectStore, id: string): Promise<Buffer> {
  return collect(await store.read(id))
}


export interface Rig {
  readonly root: string
  readonly fs: FsBackend[]
  readonly faulty: FaultyBackend[]
  readonly manifests: FileManifestStore
  readonly store: ObjectStore
  /** Opens a fresh store over the same directories, as a restarted process would. */
  reopen(manifests?: ManifestStore): Promise<ObjectStore>
  close(): Promise<void>
}

/**
 * `width` backends b0… (default 8), a 4+2 store of {@link BLOCK}-byte blocks. `whole: true` stores
 * whole blocks (no segments) on every backend, so repairs can delete replaced blocks; a list of
 * indexes does so on those backends only.
 */
export async function rig(options: { width?: number; whole?: boolean | readonly number[]; manifests?: (inner: FileManifestStore) => ManifestStore; store?: Partial<ObjectStoreOptions> } = {}): Promise<Rig> {
  const width = options.width ?? 8
  const whole = (i: number) => (Array.isArray(options.whole) ? options.whole.includes(i) : options.whole === true)
  const root = await mkdtemp(join(tmpdir(), 'tessera-store-'))
  const fs = await Promise.all(Array.from({ length: width }, (_, i) => FsBackend.open({ id: `b${i}`, root: join(root, `b${i}`) })))
  const faulty = fs.map((b, i) => new FaultyBackend(whole(i) ? wholeBlocksOnly(b) : b, { seed: i + 1 }))
  const manifests = await FileManifestStore.open({ dir: join(root, 'meta') })
  const open = async (m: ManifestStore) => ObjectStore.open({ backends: faulty, manifests: m, dataBlocks: 4, parityBlocks: 2, blockBytes: BLOCK, blockTimeoutMs: 2000, ...options.store })
  const store = await open(options.manifests ? options.manifests(manifests) : manifests)
  return {
    root,
    fs,
    faulty,
    manifests,
    store,
    reopen: async (m) => open(m ?? (await FileManifestStore.open({ dir: join(root, 'meta') }))),
    close: () => rm(root, { recursive: true, force: true }),
  }
}

/** Creates `id` holding `data`. */
export async function put(store: ObjectStore, id: string, data: Uint8Array): Promise<void> {
  await store.create(id)
  await store.append(id, chunks(data))
}

/** The rig's backends holding no block of `stripe`: where a block of it may be moved or regenerated. */
export function sparesOf(r: Rig, stripe: StripeRecord): FaultyBackend[] {
  return r.faulty.filter((b) => !stripe.blocks.some((x) => x?.backend === b.id))
}
