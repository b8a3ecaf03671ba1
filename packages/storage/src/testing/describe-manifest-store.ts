import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { StorageErrorCode } from '../errors.js'
import type { Manifest, StripeRecord } from '../object-store/manifest.js'
import type { ManifestStore } from '../object-store/manifest-store.js'

/** What a factory hands {@link describeManifestStore}: a fresh, empty store and how to dispose of it. */
export interface ManifestStoreFixture {
  readonly store: ManifestStore
  readonly teardown?: () => Promise<void>
}

/** Options of {@link describeManifestStore}. */
export interface ManifestStoreSuiteOptions {
  /** Skips the whole suite with this reason (a Redis that is not there), as `node:test` shows it. */
  readonly skip?: string | false
}

const empty: Omit<Manifest, 'version'> = Object.freeze({ stripes: [], sources: [], referrers: [], deleted: false })

/** A stripe record whose `bytes` identifies it; `degraded` leaves a block missing (`null`). */
export function stripeRecord(bytes: number, degraded = false): StripeRecord {
  return {
    bytes,
    blockBytes: 64,
    dataBlocks: 2,
    parityBlocks: 1,
    blocks: [{ backend: 'a', key: `o/${bytes}-0`, checksum: '0123456789abcdef' }, { backend: 'b', key: `o/seg-${bytes}`, offset: 128, checksum: 'fedcba9876543210' }, degraded ? null : { backend: 'c', key: `o/${bytes}-2`, checksum: '00000000ffffffff' }],
  }
}

const code =
  (expected: StorageErrorCode) =>
  (err: unknown): boolean => {
    assert.equal((err as { code?: unknown }).code, expected, String(err))
    return true
  }

async function ids(store: ManifestStore): Promise<string[]> {
  const out: string[] = []
  for await (const id of store.list()) out.push(id)
  return out.sort()
}

/**
 * The conformance suite of the `ManifestStore` port (`node:test`): what `FileManifestStore` and
 * every other implementation (Redis) must do alike — versioned atomic appends, conditional updates
 * failing `STORAGE_ERR_CONFLICT`, idempotent delete, list, serialised concurrent writers, ids
 * refused `STORAGE_ERR_INVALID_KEY`. `factory` returns a fresh, empty store per test.
 */
export function describeManifestStore(name: string, factory: () => Promise<ManifestStoreFixture>, options: ManifestStoreSuiteOptions = {}): void {
  const run = async (fn: (store: ManifestStore) => Promise<void>): Promise<void> => {
    const fixture = await factory()
    try {
      await fn(fixture.store)
    } finally {
      await fixture.teardown?.()
    }
  }

  describe(`ManifestStore conformance: ${name}`, { skip: options.skip ?? false }, () => {
    test('an absent manifest reads undefined and is not listed', () =>
      run(async (store) => {
        assert.equal(await store.get('m'), undefined)
        assert.deepEqual(await ids(store), [])
      }))

    test('appends create version 1, then add one version per batch, stripes in order and intact', () =>
      run(async (store) => {
        assert.equal(await store.appendStripes('m', [stripeRecord(1)]), 1)
        assert.equal(await store.appendStripes('m', [stripeRecord(2, true), stripeRecord(3)]), 2)
        assert.equal(await store.appendStripes('m', []), 3)
        const m = await store.get('m')
        assert.deepEqual(m, { version: 3, stripes: [stripeRecord(1), stripeRecord(2, true), stripeRecord(3)], sources: [], referrers: [], deleted: false })
      }))

    test('update is a check-and-set on the version: 0 creates, a stale version is refused STORAGE_ERR_CONFLICT', () =>
      run(async (store) => {
        const created = await store.update('c', 0, empty)
        assert.equal(created.version, 1)
        await assert.rejects(store.update('c', 0, empty), code('STORAGE_ERR_CONFLICT'))
        await assert.rejects(store.update('c', 2, empty), code('STORAGE_ERR_CONFLICT'))
        const next = { stripes: [stripeRecord(5), stripeRecord(6, true)], sources: ['s1', 's2'], referrers: ['r'], deleted: true }
        assert.deepEqual(await store.update('c', 1, next), { ...next, version: 2 })
        assert.deepEqual(await store.get('c'), { ...next, version: 2 })
        await assert.rejects(store.update('absent', 1, empty), code('STORAGE_ERR_CONFLICT'))
        assert.equal(await store.get('absent'), undefined)
      }))

    test('an update replaces the stripes, and appends continue from its version', () =>
      run(async (store) => {
        await store.appendStripes('u', [stripeRecord(1), stripeRecord(2)])
        await store.update('u', 1, { ...empty, stripes: [stripeRecord(9)] })
        assert.equal(await store.appendStripes('u', [stripeRecord(10)]), 3)
        const m = await store.get('u')
        assert.deepEqual(m?.stripes.map((s) => s.bytes), [9, 10])
        assert.equal(m?.version, 3)
      }))

    test('delete is idempotent, and the id can be created again from version 0', () =>
      run(async (store) => {
        await store.appendStripes('d', [stripeRecord(1)])
        await store.delete('d')
        await store.delete('d')
        await store.delete('never-existed')
        assert.equal(await store.get('d'), undefined)
        assert.deepEqual(await ids(store), [])
        assert.equal((await store.update('d', 0, empty)).version, 1)
        assert.deepEqual((await store.get('d'))?.stripes, [])
      }))

    test('list yields every stored id once', () =>
      run(async (store) => {
        for (const id of ['a', 'b-2', 'C_3']) await store.appendStripes(id, [stripeRecord(1)])
        await store.update('empty', 0, empty)
        assert.deepEqual(await ids(store), ['C_3', 'a', 'b-2', 'empty'])
      }))

    test('concurrent appends to one manifest serialise without losing a stripe or a version', () =>
      run(async (store) => {
        const versions = await Promise.all(Array.from({ length: 50 }, (_, i) => store.appendStripes('p', [stripeRecord(i + 1)])))
        assert.deepEqual([...versions].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1))
        const m = await store.get('p')
        assert.equal(m?.version, 50)
        assert.deepEqual(new Set(m?.stripes.map((s) => s.bytes)), new Set(Array.from({ length: 50 }, (_, i) => i + 1)))
      }))

    test('concurrent updates from one version: exactly one wins, the others conflict', () =>
      run(async (store) => {
        await store.update('race', 0, empty)
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.update('race', 1, { ...empty, referrers: [`w${i}`] })))
        const won = results.filter((r) => r.status === 'fulfilled')
        assert.equal(won.length, 1)
        for (const r of results) if (r.status === 'rejected') code('STORAGE_ERR_CONFLICT')(r.reason)
        const m = await store.get('race')
        assert.equal(m?.version, 2)
        assert.deepEqual(m?.referrers, (won[0] as PromiseFulfilledResult<Manifest>).value.referrers)
      }))

    test('a reader never sees half of an append batch', () =>
      run(async (store) => {
        const batch = (n: number): StripeRecord[] => [stripeRecord(n * 10 + 1), stripeRecord(n * 10 + 2), stripeRecord(n * 10 + 3)]
        const writes = Promise.all(Array.from({ length: 20 }, (_, n) => store.appendStripes('b', batch(n))))
        const reads: (Manifest | undefined)[] = []
        for (let i = 0; i < 20; i++) reads.push(await store.get('b'))
        await writes
        reads.push(await store.get('b'))
        for (const m of reads) {
          if (!m) continue
          assert.equal(m.stripes.length, 3 * m.version, 'one version per whole batch')
        }
        assert.equal(reads.at(-1)?.stripes.length, 60)
      }))

    test('a manifest of thousands of stripes round-trips', () =>
      run(async (store) => {
        const stripes = Array.from({ length: 2500 }, (_, i) => stripeRecord(i + 1, i % 7 === 0))
        await store.update('big', 0, { ...empty, stripes })
        await store.appendStripes('big', stripes.slice(0, 1200))
        const m = await store.get('big')
        assert.equal(m?.stripes.length, 3700)
        assert.deepEqual(m?.stripes.slice(2499, 2501), [stripes[2499], stripes[0]])
      }))

    test('ids outside [A-Za-z0-9_-]{1,200} are refused STORAGE_ERR_INVALID_KEY', () =>
      run(async (store) => {
        for (const bad of ['', '../x', 'a/b', 'a b', '{x}', 'x'.repeat(201)]) {
          await assert.rejects(async () => store.get(bad), code('STORAGE_ERR_INVALID_KEY'))
          await assert.rejects(async () => store.appendStripes(bad, [stripeRecord(1)]), code('STORAGE_ERR_INVALID_KEY'))
          await assert.rejects(async () => store.update(bad, 0, empty), code('STORAGE_ERR_INVALID_KEY'))
          await assert.rejects(async () => store.delete(bad), code('STORAGE_ERR_INVALID_KEY'))
        }
      }))
  })
}
