// Test helper (not a test file): real FsBackends in a tmp dir behind FaultyBackends, observed by a
// HealthMonitor, a real FileManifestStore and an ObjectStore over them.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FaultyBackend, FileManifestStore, FsBackend, ObjectStore, wholeBlocksOnly, type Backend, type Manifest, type ObjectStoreOptions } from '@tessera/storage'
import { HealthMonitor, ManualClock, type HealthMonitorOptions } from '../../src/index.js'

export const BLOCK = 4096


/** Deterministic bytes (xorshift32). */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

export interface Rig {
  readonly root: string
  readonly fs: FsBackend[]
  readonly faulty: FaultyBackend[]
  readonly clock: ManualClock
  readonly health: HealthMonitor
  readonly manifests: FileManifestStore
  readonly store: ObjectStore
  manifest(id: string): Promise<Manifest>
  readAll(id: string): Promise<Buffer>
  put(id: string, data: Uint8Array): Promise<void>
  close(): Promise<void>
}

/** `width` (default 8) backends b0…, a 4+2 store of 4 KiB blocks, stored whole; backends in `almostFull` (a live set) report 1 % free. */
export async function rig(options: { width?: number; health?: HealthMonitorOptions; almostFull?: ReadonlySet<string>; store?: Pick<ObjectStoreOptions, 'onBlockRead'> } = {}): Promise<Rig> {
  const width = options.width ?? 8
  const root = await mkdtemp(join(tmpdir(), 'tessera-durability-'))
  const clock = new ManualClock(1_000_000)
  const health = new HealthMonitor({ clock, probe: 'write', ...options.health })
  const fs = await Promise.all(Array.from({ length: width }, (_, i) => FsBackend.open({ id: `b${i}`, root: join(root, `b${i}`) })))
  // The medium of the backends in `almostFull` (looked up on every call) reports 1 % free.
  const medium = (b: Backend): Backend => ({ ...wholeBlocksOnly(b), capacity: async (o) => (options.almostFull?.has(b.id) ? { totalBytes: 100_000_000, freeBytes: 1_000_000 } : b.capacity(o)) })
  const faulty = fs.map((b, i) => new FaultyBackend(medium(b), { seed: i + 1 }))
  const manifests = await FileManifestStore.open({ dir: join(root, 'meta') })
  const store = await ObjectStore.open({ backends: faulty.map((b) => health.wrap(b)), manifests, dataBlocks: 4, parityBlocks: 2, blockBytes: BLOCK, blockTimeoutMs: 2000, ...options.store })
  const readAll = async (id: string): Promise<Buffer> => {
    const parts: Uint8Array[] = []
    for await (const c of await store.read(id)) parts.push(c)
    return Buffer.concat(parts)
  }
  return {
    root,
    fs,
    faulty,
    clock,
    health,
    manifests,
    store,
    manifest: async (id) => {
      const m = await manifests.get(id)
      if (!m) throw new Error(`no manifest ${id}`)
      return m
    },
    readAll,
    put: async (id, data) => {
      await store.create(id)
      await store.append(id, (async function* () {
        yield data
      })())
    },
    close: () => rm(root, { recursive: true, force: true }),
  }
}
