import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { supportsSegments, type Backend, type StorageErrorCode } from '../src/index.js'

/** What a factory hands the suite: a fresh, empty backend and how to dispose of it. */
export interface BackendFixture {
  readonly backend: Backend
  /** Every name the medium holds (files, objects, multipart uploads), to prove nothing leaked. */
  readonly rawEntries?: () => Promise<string[]>
  readonly teardown?: () => Promise<void>
}

/** `assert.rejects` matcher for a `StorageError` code. */
export const code =
  (expected: StorageErrorCode) =>
  (err: unknown): boolean => {
    assert.equal((err as { code?: unknown }).code, expected, String(err))
    return true
  }

/** Asserts byte equality of any two Uint8Arrays (a Buffer equals a Uint8Array with the same bytes). */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength)
  const e = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)
  if (a.equals(e)) return
  let at = 0
  while (at < Math.min(a.length, e.length) && a[at] === e[at]) at++
  assert.fail(`${message ?? 'bytes differ'}: ${a.length} B vs ${e.length} B expected, first difference at ${at}`)
}

/** Deterministic pseudo-random bytes (no Math.random), so failures reproduce. */
export function bytesOf(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 255
  }
  return out
}

/** Yields `bytes` in chunks of the given sizes (cycled), with an empty chunk thrown in. */
export async function* chunked(bytes: Uint8Array, sizes: readonly number[] = [1, 7, 4096, 65536]): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(0)
  for (let offset = 0, i = 0; offset < bytes.byteLength; i++) {
    const size = sizes[i % sizes.length] ?? 1
    yield bytes.subarray(offset, offset + size)
    offset += size
  }
}

async function collect(stream: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk))
  return new Uint8Array(Buffer.concat(chunks))
}

async function keysOf(backend: Backend, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const keys: string[] = []
  for await (const key of backend.list(prefix, signal ? { signal } : {})) keys.push(key)
  return keys.sort()
}

const MiB = 1024 * 1024
const INVALID_KEYS = ['../x', '/abs', 'a//b', 'a/./b', '..', '', 'a\\b', 'a\0b', '.', 'a/', 'a/../b', 'a b', 'ü']

/**
 * The conformance suite of the {@link Backend} port: every adapter runs it with a factory that
 * returns a fresh, empty backend per test.
 */
export function describeBackend(name: string, factory: () => Promise<BackendFixture>): void {
  describe(`Backend conformance: ${name}`, () => {
    let fixture: BackendFixture
    let backend: Backend
    beforeEach(async () => {
      fixture = await factory()
      backend = fixture.backend
    })
    afterEach(async () => {
      await fixture.teardown?.()
    })

    // After a failed or aborted put: no temp file visible through the port or on the medium.
    async function assertNoLeftovers(expectedKeys: string[]): Promise<void> {
      assert.deepEqual(await keysOf(backend, ''), expectedKeys)
      if (fixture.rawEntries) {
        const raw = await fixture.rawEntries()
        assert.equal(raw.length, expectedKeys.length, `medium holds ${JSON.stringify(raw)}`)
      }
    }

    test('put/read/get/stat round-trip 0 B, 1 B and 1 MiB blocks', async () => {
      for (const [key, size] of [['zero', 0], ['one', 1], ['up/mib', MiB]] as const) {
        const bytes = bytesOf(size, size + 1)
        assert.deepEqual(await backend.put(key, bytes), { bytes: size })
        assertBytes(await backend.read(key), bytes)
        assertBytes(await collect(await backend.get(key)), bytes)
        const stat = await backend.stat(key)
        assert.equal(stat?.bytes, size)
        assert.equal(typeof stat?.mtimeMs, 'number')
      }
    })

    test('put takes a streamed body: an async iterable or a Node Readable', async () => {
      const bytes = bytesOf(300_000, 7)
      assert.deepEqual(await backend.put('u/streamed', chunked(bytes)), { bytes: bytes.byteLength })
      assertBytes(await backend.read('u/streamed'), bytes)
      const readable = Readable.from(chunked(bytes, [1000]), { objectMode: false })
      assert.deepEqual(await backend.put('u/readable', readable), { bytes: bytes.byteLength })
      assertBytes(await collect(await backend.get('u/readable')), bytes)
      assert.deepEqual(await backend.put('u/empty', chunked(new Uint8Array(0))), { bytes: 0 })
      assert.equal((await backend.stat('u/empty'))?.bytes, 0)
    })

    test('put replaces a block, longer or shorter', async () => {
      await backend.put('k', bytesOf(1000, 1))
      await backend.put('k', bytesOf(5000, 2))
      assertBytes(await backend.read('k'), bytesOf(5000, 2))
      await backend.put('k', bytesOf(10, 3))
      assertBytes(await backend.read('k'), bytesOf(10, 3))
      assert.equal((await backend.stat('k'))?.bytes, 10)
      assert.deepEqual(await keysOf(backend, ''), ['k'])
    })

    test('absent keys: read and get reject NOT_FOUND, stat resolves undefined', async () => {
      await backend.put('present/x', bytesOf(3))
      for (const key of ['absent', 'present/y', 'nowhere/y', 'present/x/deeper']) {
        await assert.rejects(backend.read(key), code('STORAGE_ERR_NOT_FOUND'))
        await assert.rejects(backend.get(key), code('STORAGE_ERR_NOT_FOUND'))
        assert.equal(await backend.stat(key), undefined)
      }
    })

    test('delete removes a block and is idempotent', async () => {
      await backend.put('d/1', bytesOf(10))
      await backend.put('d/2', bytesOf(10))
      await backend.delete('d/1')
      await backend.delete('d/1')
      await backend.delete('never/was')
      await assert.rejects(backend.read('d/1'), code('STORAGE_ERR_NOT_FOUND'))
      assertBytes(await backend.read('d/2'), bytesOf(10))
      await backend.delete('d/2')
      assert.deepEqual(await keysOf(backend, ''), [])
      await backend.put('d/3', bytesOf(1))
      assert.deepEqual(await keysOf(backend, 'd/'), ['d/3'])
    })

    test('list yields the keys that start with the prefix', async () => {
      const keys = ['u1/0-0', 'u1/0-1', 'u1/1-0', 'u10/0-0', 'u2/0-0', 'top', 'a', 'a/b', 'a/b/c']
      for (const key of keys) await backend.put(key, bytesOf(1))
      assert.deepEqual(await keysOf(backend, ''), [...keys].sort())
      assert.deepEqual(await keysOf(backend, 'u1/'), ['u1/0-0', 'u1/0-1', 'u1/1-0'])
      assert.deepEqual(await keysOf(backend, 'u1/0-'), ['u1/0-0', 'u1/0-1'])
      assert.deepEqual(await keysOf(backend, 'u1'), ['u1/0-0', 'u1/0-1', 'u1/1-0', 'u10/0-0'])
      assert.deepEqual(await keysOf(backend, 'u1/0-1'), ['u1/0-1'])
      assert.deepEqual(await keysOf(backend, 't'), ['top'])
      assert.deepEqual(await keysOf(backend, 'a'), ['a', 'a/b', 'a/b/c'])
      assert.deepEqual(await keysOf(backend, 'a/'), ['a/b', 'a/b/c'])
      assert.deepEqual(await keysOf(backend, 'nope/'), [])
      assert.deepEqual(await keysOf(backend, 'u3'), [])
    })

    test('a key can be a block and the prefix of other blocks at once', async () => {
      await backend.put('a', bytesOf(1, 1))
      await backend.put('a/b', bytesOf(2, 2))
      assertBytes(await backend.read('a'), bytesOf(1, 1))
      assertBytes(await backend.read('a/b'), bytesOf(2, 2))
      await backend.delete('a/b')
      assertBytes(await backend.read('a'), bytesOf(1, 1))
    })

    test('invalid keys reject INVALID_KEY before any I/O', async () => {
      const untouchable: AsyncIterable<Uint8Array> = {
        [Symbol.asyncIterator]() {
          throw new Error('the body must not be read for an invalid key')
        },
      }
      const aborted = AbortSignal.abort()
      for (const key of INVALID_KEYS) {
        const invalid = code('STORAGE_ERR_INVALID_KEY')
        await assert.rejects(backend.put(key, untouchable, { signal: aborted }), invalid, JSON.stringify(key))
        await assert.rejects(backend.put(key, bytesOf(1)), invalid, JSON.stringify(key))
        await assert.rejects(backend.get(key), invalid, JSON.stringify(key))
        await assert.rejects(backend.read(key), invalid, JSON.stringify(key))
        await assert.rejects(backend.delete(key), invalid, JSON.stringify(key))
        await assert.rejects(backend.stat(key), invalid, JSON.stringify(key))
      }
      // `..` alone is a fine prefix (of `..x`); only complete segments must be valid.
      for (const prefix of ['../', '/abs', 'a//', './', 'a/../', 'a\\', 'a\0']) {
        await assert.rejects(keysOf(backend, prefix), code('STORAGE_ERR_INVALID_KEY'), JSON.stringify(prefix))
      }
      await assertNoLeftovers([])
    })

    test('a body that is neither bytes nor an async iterable rejects INVALID_ARGUMENT and stores nothing', async () => {
      for (const body of ['text', 42, null, [new Uint8Array(1)]]) {
        await assert.rejects(backend.put('b/k', body as unknown as Uint8Array), code('STORAGE_ERR_INVALID_ARGUMENT'))
      }
      async function* strings(): AsyncGenerator<string> {
        yield 'not bytes'
      }
      await assert.rejects(backend.put('b/k', strings() as unknown as AsyncIterable<Uint8Array>), code('STORAGE_ERR_INVALID_ARGUMENT'))
      await assertNoLeftovers([])
    })

    test('an already-aborted signal rejects every op with ABORTED and the reason as cause', async () => {
      await backend.put('k', bytesOf(4))
      const reason = new Error('caller gave up')
      const signal = AbortSignal.abort(reason)
      const aborted = (err: unknown): boolean => code('STORAGE_ERR_ABORTED')(err) && (err as Error).cause === reason
      await assert.rejects(backend.put('k', bytesOf(8), { signal }), aborted)
      await assert.rejects(backend.put('new', bytesOf(8), { signal }), aborted)
      await assert.rejects(backend.get('k', { signal }), aborted)
      await assert.rejects(backend.read('k', { signal }), aborted)
      await assert.rejects(backend.delete('k', { signal }), aborted)
      await assert.rejects(backend.stat('k', { signal }), aborted)
      await assert.rejects(keysOf(backend, '', signal), aborted)
      await assert.rejects(backend.capacity({ signal }), aborted)
      assertBytes(await backend.read('k'), bytesOf(4))
      await assertNoLeftovers(['k'])
    })

    test('aborting a put mid-stream leaves no block and no temp file', async () => {
      const controller = new AbortController()
      async function* stallsAfterOneChunk(): AsyncGenerator<Uint8Array> {
        yield bytesOf(70_000)
        controller.abort()
        await new Promise(() => {}) // never yields again: the put must not wait for it
      }
      await assert.rejects(backend.put('s/new', stallsAfterOneChunk(), { signal: controller.signal }), code('STORAGE_ERR_ABORTED'))
      assert.equal(await backend.stat('s/new'), undefined)
      await assertNoLeftovers([])
    })

    test('aborting a put that replaces a block keeps the old bytes', async () => {
      await backend.put('s/old', bytesOf(500, 9))
      const controller = new AbortController()
      async function* abortsMidway(): AsyncGenerator<Uint8Array> {
        yield bytesOf(1000, 1)
        controller.abort()
        yield bytesOf(1000, 2)
      }
      await assert.rejects(backend.put('s/old', abortsMidway(), { signal: controller.signal }), code('STORAGE_ERR_ABORTED'))
      assertBytes(await backend.read('s/old'), bytesOf(500, 9))
      await assertNoLeftovers(['s/old'])
    })

    test('a failing source rejects with its error and leaves the previous block intact', async () => {
      await backend.put('f/k', bytesOf(2000, 4))
      const failure = new Error('client went away')
      async function* failsMidway(): AsyncGenerator<Uint8Array> {
        yield bytesOf(100_000, 5)
        throw failure
      }
      await assert.rejects(backend.put('f/k', failsMidway()), (err) => err === failure || (err as Error).cause === failure)
      await assert.rejects(backend.put('f/other', failsMidway()), (err) => err === failure || (err as Error).cause === failure)
      assertBytes(await backend.read('f/k'), bytesOf(2000, 4))
      assert.equal(await backend.stat('f/other'), undefined)
      await assertNoLeftovers(['f/k'])
    })

    test('concurrent puts to one key leave exactly one complete value', async () => {
      const values = [1, 2, 3, 4, 5].map((seed) => bytesOf(200_000 + seed * 1000, seed))
      const results = await Promise.all(values.map((value) => backend.put('c/k', chunked(value, [8192, 30000]))))
      assert.deepEqual(
        results.map((r) => r.bytes),
        values.map((v) => v.byteLength),
      )
      const stored = await backend.read('c/k')
      assert.ok(
        values.some((value) => Buffer.compare(value, stored) === 0),
        'the stored block is one of the values written',
      )
      await assertNoLeftovers(['c/k'])
    })

    test('a get stream errors with ABORTED when its signal fires mid-read', async () => {
      await backend.put('g/k', bytesOf(MiB))
      const controller = new AbortController()
      const stream = await backend.get('g/k', { signal: controller.signal })
      controller.abort()
      await assert.rejects(collect(stream), code('STORAGE_ERR_ABORTED'))
    })

    test('capacity reports numbers or undefined', async () => {
      const { totalBytes, freeBytes } = await backend.capacity()
      for (const value of [totalBytes, freeBytes]) {
        assert.ok(value === undefined || (Number.isFinite(value) && value >= 0), String(value))
      }
      if (totalBytes !== undefined && freeBytes !== undefined) assert.ok(freeBytes <= totalBytes)
    })

    // The optional segment capability: checked only where the adapter offers it.
    test('segments: concurrent positional writes read back by range; listed, stat\'ed, deleted like a block', async (t) => {
      const seg = backend
      if (!supportsSegments(seg)) return t.skip('this backend stores whole blocks only')
      const blocks = [0, 1, 2, 3].map((i) => bytesOf(70_000 + i, i + 11))
      const offsets = [0, 70_000, 140_001, 210_003]
      const writer = await seg.createSegment('obj/seg-1')
      await Promise.all(blocks.map((b, i) => writer.write(offsets[i]!, b)))
      await writer.close()
      await writer.close()
      for (const [i, b] of blocks.entries()) assertBytes(await seg.readRange('obj/seg-1', offsets[i]!, b.length), b, `block ${i}`)
      assert.equal((await seg.readRange('obj/seg-1', 280_000, 100)).length, 6, 'a range past the end is short')
      assert.equal((await seg.stat('obj/seg-1'))?.bytes, 280_006)
      assert.deepEqual(await collectKeys(seg.list('obj/')), ['obj/seg-1'])
      await assert.rejects(seg.createSegment('obj/seg-1'), code('STORAGE_ERR_CONFLICT'))
      await seg.delete('obj/seg-1')
      await assert.rejects(seg.readRange('obj/seg-1', 0, 10), code('STORAGE_ERR_NOT_FOUND'))
      await assert.rejects(seg.createSegment('../escape'), code('STORAGE_ERR_INVALID_KEY'))
      await assert.rejects(seg.readRange('a//b', 0, 1), code('STORAGE_ERR_INVALID_KEY'))
    })
  })
}

async function collectKeys(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const key of keys) out.push(key)
  return out.sort()
}
