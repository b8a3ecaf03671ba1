// Test helper (not a test file), shared by `migration-kill.test.ts` and the child process it kills
// (`migration-child.ts`): the store layout (7 real FsBackends + a real FileManifestStore in one
// directory, 4+2), the seeded objects, the migration jobs, and a pass-through tap that lets the child
// announce — and stop at — every point where the state on disk can change.
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { FileManifestStore, FsBackend, ObjectStore, wholeBlocksOnly, type Backend, type BlockBody, type ManifestStore } from '../../src/index.js'

export const BLOCK = 4096
export const STRIPE = 4 * BLOCK
export const WIDTH = 7
/** Backends that store whole blocks (no segments), so a migration off them deletes the old block. */
export const WHOLE = new Set(['b0', 'b2', 'b4', 'b6'])

/** The objects every run stores: several, multi-stripe, partial last stripes, one of two appends. */
export const OBJECTS: readonly { readonly id: string; readonly sizes: readonly number[]; readonly seed: number }[] = [
  { id: 'obj-a', sizes: [3 * STRIPE + 123], seed: 11 },
  { id: 'obj-b', sizes: [STRIPE], seed: 12 },
  { id: 'obj-c', sizes: [2 * STRIPE + 5000, STRIPE + 77], seed: 13 },
  { id: 'obj-d', sizes: [7], seed: 14 },
  { id: 'obj-e', sizes: [5 * STRIPE + 1], seed: 15 },
]

/** mulberry32: a seeded PRNG, [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Seeded random bytes. */
export function seededBytes(n: number, seed: number): Buffer {
  const next = rng(seed)
  const out = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256)
  return out
}

/** The bytes of each append of `OBJECTS[i]`. */
export function objectParts(o: (typeof OBJECTS)[number]): Buffer[] {
  return o.sizes.map((n, j) => seededBytes(n, o.seed * 100 + j))
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** SHA-256 of every object as stored (what every read must give back). */
export function expectedDigests(): Map<string, string> {
  return new Map(OBJECTS.map((o) => [o.id, sha256(Buffer.concat(objectParts(o)))]))
}


/** `await point(label)` at every point where a kill is interesting; the child stops at one of them. */
export type Point = (label: string) => Promise<void>

/**
 * A pass-through backend: every call reaches the real one unchanged. Around each call that changes
 * the disk (`put`, `delete`) it awaits `point` after the call; a `put` also awaits it half-way
 * through the body (the first half is in FsBackend's temp file, the rest not yet sent). Reads change
 * nothing, so the state before a read equals the state at the previous point: no point there.
 */
function tapBackend(inner: Backend, point: Point): Backend {
  const tapped: Backend = {
    id: inner.id,
    async put(key, body, options) {
      const split = async function* (b: BlockBody): AsyncGenerator<Uint8Array> {
        const all = b instanceof Uint8Array ? b : Buffer.concat(await collect(b))
        const half = all.length >> 1
        yield all.subarray(0, half)
        await point(`put ${inner.id} ${key}: half written`)
        yield all.subarray(half)
      }
      const r = await inner.put(key, split(body), options)
      await point(`put ${inner.id} ${key}: done`)
      return r
    },
    get: (k, o) => inner.get(k, o),
    read: (k, o) => inner.read(k, o),
    async delete(key, options) {
      await inner.delete(key, options)
      await point(`delete ${inner.id} ${key}: done`)
    },
    stat: (k, o) => inner.stat(k, o),
    list: (p, o) => inner.list(p, o),
    capacity: (o) => inner.capacity(o),
  }
  if (inner.createSegment && inner.readRange) {
    const createSegment = inner.createSegment.bind(inner)
    tapped.createSegment = async (key, o) => {
      const writer = await createSegment(key, o)
      return {
        async write(offset, bytes, wo) {
          await writer.write(offset, bytes, wo)
          await point(`segment ${inner.id} ${key}@${offset}: written`)
        },
        close: () => writer.close(),
      }
    }
    tapped.readRange = inner.readRange.bind(inner)
  }
  return tapped
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const c of it) out.push(c)
  return out
}

/** A pass-through manifest store that awaits `point` after every call that changes a manifest. */
function tapManifests(inner: ManifestStore, point: Point): ManifestStore {
  return {
    get: (id) => inner.get(id),
    async appendStripes(id, stripes) {
      const v = await inner.appendStripes(id, stripes)
      await point(`manifest ${id}: stripes appended`)
      return v
    },
    async update(id, expected, next) {
      const m = await inner.update(id, expected, next)
      await point(`manifest ${id}: updated to v${m.version}`)
      return m
    },
    async delete(id) {
      await inner.delete(id)
      await point(`manifest ${id}: deleted`)
    },
    list: () => inner.list(),
  }
}

/**
 * Opens the store over `root` (b0…b6 + `meta/`), as any process would. With `point`, every backend
 * and the manifest store are tapped (see {@link tapBackend}); without, they are the real ones.
 */
export async function openStore(root: string, point?: Point): Promise<ObjectStore> {
  const fs = await Promise.all(Array.from({ length: WIDTH }, (_, i) => FsBackend.open({ id: `b${i}`, root: join(root, `b${i}`) })))
  const backends = fs.map((b) => (WHOLE.has(b.id) ? wholeBlocksOnly(b) : b)).map((b) => (point ? tapBackend(b, point) : b))
  const files = await FileManifestStore.open({ dir: join(root, 'meta') })
  const manifests = point ? tapManifests(files, point) : files
  return ObjectStore.open({ backends, manifests, dataBlocks: 4, parityBlocks: 2, blockBytes: BLOCK, blockTimeoutMs: 10_000 })
}

/** Stores every object of {@link OBJECTS}. */
export async function storeObjects(store: ObjectStore): Promise<void> {
  for (const o of OBJECTS) {
    await store.create(o.id)
    for (const part of objectParts(o)) {
      await store.append(
        o.id,
        (async function* () {
          for (let i = 0; i < part.length; i += 5000) yield part.subarray(i, Math.min(part.length, i + 5000))
        })(),
      )
    }
  }
}

/** One block move of a job: block `block` of stripe `stripe` of `objectId`, off `from`, to `to`. */
export interface Move {
  readonly objectId: string
  readonly stripe: number
  readonly block: number
  readonly from: string
  readonly to: string
}

/**
 * The moves that drain backend `source`: every block on it, in manifest order, each to the backend
 * its stripe does not use (with 7 backends and 6 blocks a stripe there is exactly one; the lowest
 * id otherwise). Computed from the manifests as they are, so a re-run after a kill plans only the
 * moves that did not commit.
 */
export async function planDrain(store: ObjectStore, source: string): Promise<Move[]> {
  const ids = store.options.backends.map((b) => b.id)
  const moves: Move[] = []
  for (const o of OBJECTS) {
    const manifest = await store.options.manifests.get(o.id)
    if (!manifest) throw new Error(`no manifest for ${o.id}`)
    manifest.stripes.forEach((s, stripe) => {
      const block = s.blocks.findIndex((b) => b?.backend === source)
      if (block < 0) return
      const to = ids.find((id) => !s.blocks.some((b) => b?.backend === id))!
      moves.push({ objectId: o.id, stripe, block, from: source, to })
    })
  }
  return moves
}
