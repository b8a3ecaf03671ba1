// Test helper (not a test file): real FsBackends in a tmp dir behind FaultyBackends, a real manifest store.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FaultyBackend, FileManifestStore, FsBackend, ObjectStore, type Backend, type ManifestStore, type ObjectStoreOptions } from '../src/index.js'

export const BLOCK = 4096
export const STRIPE = 4 * BLOCK

/** Deterministic bytes (xorshift). */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 255
  }
  return out
}

export async function* chunks(buf: Uint8Array, size = 5000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size))
}

export async function readAll(store: ObjectStore, id: string): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of await store.read(id)) parts.push(c)
  return Buffer.concat(parts)
}

/** A backend that hides the segment capability of the one it wraps (an S3-like store: whole blocks). */
export function wholeBlocksOnly(inner: Backend): Backend {
  return {
    id: inner.id,
    put: (k, b, o) => inner.put(k, b, o),
    get: (k, o) => inner.get(k, o),
    read: (k, o) => inner.read(k, o),
    delete: (k, o) => inner.delete(k, o),
    stat: (k, o) => inner.stat(k, o),
    list: (p, o) => inner.list(p, o),
    capacity: (o) => inner.capacity(o),
  }
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

/** `width` backends b0…; `whole: true` stores whole blocks (no segments) so repairs can delete replaced blocks. */
export async function rig(options: { width?: number; whole?: boolean; manifests?: (inner: FileManifestStore) => ManifestStore; store?: Partial<ObjectStoreOptions> } = {}): Promise<Rig> {
  const width = options.width ?? 8
  const root = await mkdtemp(join(tmpdir(), 'tessera-repair-'))
  const fs = await Promise.all(Array.from({ length: width }, (_, i) => FsBackend.open({ id: `b${i}`, root: join(root, `b${i}`) })))
  const faulty = fs.map((b, i) => new FaultyBackend(options.whole ? wholeBlocksOnly(b) : b, { seed: i + 1 }))
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
