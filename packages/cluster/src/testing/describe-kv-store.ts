import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { KvStore } from '@tus/utils'
import type { SuiteOptions } from './describe-locker.js'

/** What a factory hands {@link describeKvStore}: a fresh, empty store and how to dispose of it. */
export interface KvStoreFixture {
  readonly store: KvStore<unknown>
  readonly teardown?: () => Promise<void>
}

interface Value {
  readonly id: string
  readonly offset: number
  readonly size: number | null
  readonly metadata: Record<string, string>
  readonly parts: readonly number[]
  readonly done: boolean
}

const value = (offset: number): Value => ({ id: 'u1', offset, size: null, metadata: { filename: 'ünïcode ✓.bin', type: '' }, parts: [0, 1.5, -3], done: offset > 10 })

async function keys(store: KvStore<unknown>): Promise<string[]> {
  assert.ok(store.list, 'Tessera needs list() (the expiry sweep walks upload records)')
  return (await store.list()).sort()
}

/**
 * The conformance suite of @tus/utils' `KvStore` port as the gateway uses it (`node:test`), run
 * by the gateway's `FileKvStore` and by `RedisKvStore`: JSON round trips by value, whole
 * replacement, idempotent delete, `list` of exactly the stored keys, concurrent writers leaving one
 * whole value. Keys are of the gateway's forms (upload ids, `p-<sha256 hex>`). `factory` returns a
 * fresh, empty store per test.
 */
export function describeKvStore(name: string, factory: () => Promise<KvStoreFixture>, options: SuiteOptions = {}): void {
  const run = async (fn: (store: KvStore<unknown>) => Promise<void>): Promise<void> => {
    const fixture = await factory()
    try {
      await fn(fixture.store)
    } finally {
      await fixture.teardown?.()
    }
  }

  describe(`KvStore conformance: ${name}`, { skip: options.skip ?? false }, () => {
    test('a missing key reads undefined; an empty store lists nothing', () =>
      run(async (store) => {
        assert.equal(await store.get('missing'), undefined)
        assert.deepEqual(await keys(store), [])
      }))

    test('values round-trip as JSON, by value', () =>
      run(async (store) => {
        const v = value(3)
        await store.set('u1', v)
        assert.deepEqual(await store.get('u1'), v)
        const mutable = { ...value(4), metadata: { a: 'b' } }
        await store.set('u2', mutable)
        mutable.metadata.a = 'changed after set'
        assert.deepEqual(await store.get('u2'), { ...value(4), metadata: { a: 'b' } })
        const read = (await store.get('u2')) as { metadata: Record<string, string> }
        read.metadata.a = 'changed after get'
        assert.deepEqual(await store.get('u2'), { ...value(4), metadata: { a: 'b' } })
      }))

    test('set replaces the whole value', () =>
      run(async (store) => {
        await store.set('k', { a: 1, b: 2 })
        await store.set('k', { a: 3 })
        assert.deepEqual(await store.get('k'), { a: 3 })
      }))

    test('delete is idempotent and removes the key from list', () =>
      run(async (store) => {
        await store.set('a', value(1))
        await store.set('b', value(2))
        await store.delete('a')
        await store.delete('a')
        await store.delete('never-set')
        assert.equal(await store.get('a'), undefined)
        assert.deepEqual(await keys(store), ['b'])
      }))

    test('list yields every stored key once, of the gateway’s key forms', () =>
      run(async (store) => {
        const expected = [
          ...Array.from({ length: 120 }, (_, i) => `upload-${String(i).padStart(3, '0')}`),
          'c1c9f0a3e2b64b9f8d7e6a5b4c3d2e1f',
          `p-${'ab'.repeat(32)}`,
          'with_underscore-and-dash',
        ]
        await Promise.all(expected.map((k, i) => store.set(k, { i })))
        assert.deepEqual(await keys(store), [...expected].sort())
        assert.deepEqual(await store.get(`p-${'ab'.repeat(32)}`), { i: 121 })
      }))

    test('concurrent sets of one key leave one whole value', () =>
      run(async (store) => {
        const big = (n: number) => ({ n, fill: String(n).repeat(20_000) })
        await Promise.all(Array.from({ length: 10 }, (_, n) => store.set('hot', big(n))))
        const got = (await store.get('hot')) as { n: number; fill: string }
        assert.deepEqual(got, big(got.n))
      }))
  })
}
