import assert from 'node:assert/strict'
import { TcpRelay } from '@tessera/fault-proxy'
import { after, describe, test } from 'node:test'
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3'
import { S3Backend, defaultS3BackendOptions, resolveS3BackendOptions, type S3BackendOptions } from '../src/index.js'
import { TestBuckets, describeS3 } from '../src/testing/index.js'
import { assertBytes, bytesOf, chunked, code, describeBackend } from './describe-backend.js'

async function keysOf(backend: S3Backend, prefix = ''): Promise<string[]> {
  const keys: string[] = []
  for await (const key of backend.list(prefix)) keys.push(key)
  return keys.sort()
}

describe('resolveS3BackendOptions', () => {
  test('applies the defaults, normalises the prefix and never mutates the options', () => {
    const given = Object.freeze({ id: 'b', bucket: 'my-bucket', prefix: 'tessera/blocks' })
    const resolved = resolveS3BackendOptions(given)
    assert.equal(resolved.prefix, 'tessera/blocks/')
    assert.equal(resolved.forcePathStyle, false)
    assert.equal(resolved.requestTimeoutMs, defaultS3BackendOptions.requestTimeoutMs)
    assert.equal(resolved.maxBlockBytes, 64 * 1024 * 1024)
    assert.equal(resolved.endpoint, undefined)
    assert.equal(resolved.credentials, undefined)
    assert.equal(resolveS3BackendOptions({ id: 'b', bucket: 'b.c-d', prefix: 'x/' }).prefix, 'x/')
    assert.equal(resolveS3BackendOptions({ id: 'b', bucket: 'abc' }).prefix, '')
    assert.deepEqual(given, { id: 'b', bucket: 'my-bucket', prefix: 'tessera/blocks' })
  })

  test('invalid options fail naming the option, the expected and the actual value', () => {
    const base = { id: 'b', bucket: 'my-bucket' }
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ id: '' }, '`id`'],
      [{ bucket: 'My_Bucket' }, '`bucket`'],
      [{ bucket: 'ab' }, '`bucket`'],
      [{ bucket: 'a..b' }, '`bucket`'],
      [{ bucket: undefined }, '`bucket`'],
      [{ prefix: '../x' }, '`prefix`'],
      [{ prefix: 'a//b' }, '`prefix`'],
      [{ prefix: '/abs' }, '`prefix`'],
      [{ endpoint: 'ftp://host' }, '`endpoint`'],
      [{ endpoint: 'not a url' }, '`endpoint`'],
      [{ forcePathStyle: 'yes' }, '`forcePathStyle`'],
      [{ region: 'us east' }, '`region`'],
      [{ credentials: { accessKeyId: 'AK' } }, '`credentials`'],
      [{ createBucket: 1 }, '`createBucket`'],
      [{ connectTimeoutMs: 0 }, '`connectTimeoutMs`'],
      [{ requestTimeoutMs: 1.5 }, '`requestTimeoutMs`'],
      [{ maxAttempts: 0 }, '`maxAttempts`'],
      [{ maxBlockBytes: 6 * 1024 ** 3 }, '`maxBlockBytes`'],
      [{ listPageKeys: 1001 }, '`listPageKeys`'],
    ]
    for (const [override, name] of cases) {
      assert.throws(
        () => resolveS3BackendOptions({ ...base, ...override } as unknown as S3BackendOptions),
        (err: Error) => code('STORAGE_ERR_INVALID_ARGUMENT')(err) && err.message.includes(name),
        JSON.stringify(override),
      )
    }
  })

  test('a rejected secret is never echoed in the message', () => {
    assert.throws(
      () => resolveS3BackendOptions({ id: 'b', bucket: 'abc', credentials: { secretAccessKey: 'sup3r-s3cret' } as never }),
      (err: Error) => code('STORAGE_ERR_INVALID_ARGUMENT')(err) && !err.message.includes('sup3r-s3cret'),
    )
  })
})

// The server comes from scripts/s3-local.sh (`eval "$(scripts/s3-local.sh start)"`); without it
// these skip, or fail under CI=true (the fixture's rule, shared with the gateway's S3 tests).
describeS3('S3Backend against a real S3-compatible server', {}, (env) => {
  // A client of the fixture's own, beside the backends', to look at the buckets directly.
  const buckets = new TestBuckets(env)
  // node:test runs no afterEach hook for a test that skips itself (the suite's segments test
  // does here), so what a teardown never closed or removed goes when the file ends.
  const opened = new Set<S3Backend>()
  after(async () => {
    for (const backend of opened) backend.close()
    await buckets.dispose()
  })

  /** A bucket name no other test (or concurrent run) uses; removed by `dispose` at the latest. */
  const freshBucket = (): string => buckets.fresh(1, 't')[0]!

  const options = (bucket: string, extra: Partial<S3BackendOptions> = {}): S3BackendOptions => ({
    id: 's3-test',
    bucket,
    endpoint: env.endpoint,
    forcePathStyle: env.forcePathStyle,
    createBucket: true,
    ...extra,
  })

  async function open(bucket: string, extra: Partial<S3BackendOptions> = {}): Promise<S3Backend> {
    const backend = await S3Backend.open(options(bucket, extra))
    opened.add(backend)
    return backend
  }

  /** Every object and in-progress multipart upload in `bucket`: what the medium holds. */
  async function bucketEntries(bucket: string): Promise<string[]> {
    const uploads = await buckets.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
    return [...(await buckets.keys(bucket)), ...(uploads.Uploads ?? []).map((u) => `multipart:${u.Key ?? ''}`)].sort()
  }

  /** Runs `body` with a backend on a fresh bucket, then removes the bucket. */
  async function withBackend(extra: Partial<S3BackendOptions>, body: (backend: S3Backend, bucket: string) => Promise<void>): Promise<void> {
    const bucket = freshBucket()
    const backend = await open(bucket, extra)
    try {
      await body(backend, bucket)
    } finally {
      backend.close()
      await buckets.remove(bucket).catch(() => {}) // never hide the test's own failure; dispose retries
    }
  }

  describeBackend('S3Backend', async () => {
    const bucket = freshBucket()
    const backend = await open(bucket)
    const teardown = async (): Promise<void> => {
      backend.close()
      await buckets.remove(bucket)
    }
    return { backend, rawEntries: () => bucketEntries(bucket), teardown }
  })

  describe('S3Backend', () => {
    test('blocks are objects under the prefix; list skips foreign objects and other prefixes', async () => {
      await withBackend({ prefix: 'team/a' }, async (backend, bucket) => {
        const neighbour = await open(bucket, { id: 'neighbour', prefix: 'team/ab' })
        try {
          await backend.put('u1/0-0', bytesOf(10, 1))
          await neighbour.put('u1/0-0', bytesOf(20, 2))
          await buckets.put(bucket, 'team/a/has space', bytesOf(1))
          await buckets.put(bucket, 'team/a/u1/../up', bytesOf(1))
          assert.deepEqual(await bucketEntries(bucket), ['team/a/has space', 'team/a/u1/../up', 'team/a/u1/0-0', 'team/ab/u1/0-0'])
          assert.deepEqual(await keysOf(backend), ['u1/0-0'])
          assert.deepEqual(await keysOf(neighbour), ['u1/0-0'])
          assertBytes(await backend.read('u1/0-0'), bytesOf(10, 1))
          assertBytes(await neighbour.read('u1/0-0'), bytesOf(20, 2))
          await neighbour.delete('u1/0-0')
          assertBytes(await backend.read('u1/0-0'), bytesOf(10, 1))
        } finally {
          neighbour.close()
        }
      })
    })

    test('list follows continuation tokens across pages', async () => {
      await withBackend({ listPageKeys: 3 }, async (backend) => {
        const keys = Array.from({ length: 10 }, (_, i) => `p/${i}`).sort()
        await Promise.all(keys.map((k) => backend.put(k, new Uint8Array(0))))
        await backend.put('q/0', new Uint8Array(0))
        assert.deepEqual(await keysOf(backend, 'p/'), keys)
        assert.deepEqual(await keysOf(backend), [...keys, 'q/0'])
      })
    })

    test('a streamed body over maxBlockBytes rejects INVALID_ARGUMENT and stores nothing', async () => {
      await withBackend({ maxBlockBytes: 100_000 }, async (backend, bucket) => {
        assert.deepEqual(await backend.put('b/fits', chunked(bytesOf(100_000))), { bytes: 100_000 })
        await assert.rejects(backend.put('b/over', chunked(bytesOf(100_001))), code('STORAGE_ERR_INVALID_ARGUMENT'))
        assert.deepEqual(await bucketEntries(bucket), ['b/fits'])
      })
    })

    test('open() of a missing bucket rejects UNAVAILABLE unless createBucket is set', async () => {
      const bucket = freshBucket()
      await assert.rejects(S3Backend.open(options(bucket, { createBucket: false })), code('STORAGE_ERR_UNAVAILABLE'))
      const backend = await open(bucket, { createBucket: true })
      const again = await open(bucket, { createBucket: true })
      backend.close()
      again.close()
      await buckets.remove(bucket)
    })

    test('wrong credentials reject ACCESS_DENIED', async () => {
      await withBackend({}, async (backend, bucket) => {
        await backend.put('k', bytesOf(1))
        const intruder = { id: 'intruder', bucket, credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'x', secretAccessKey: 'wrong-secret' } }
        await assert.rejects(S3Backend.open(options(bucket, intruder)), code('STORAGE_ERR_ACCESS_DENIED'))
        const stranger = { id: 'stranger', bucket, credentials: { accessKeyId: 'no-such-user', secretAccessKey: 'whatever' } }
        await assert.rejects(S3Backend.open(options(bucket, stranger)), code('STORAGE_ERR_ACCESS_DENIED'))
      })
    })

    test('a bucket deleted under the backend: put, read and list reject UNAVAILABLE, stat resolves undefined', async () => {
      await withBackend({}, async (backend, bucket) => {
        await backend.put('k', bytesOf(1))
        await buckets.remove(bucket)
        await assert.rejects(backend.put('k', bytesOf(2)), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(backend.read('k'), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(backend.get('k'), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(keysOf(backend), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(backend.delete('k'), code('STORAGE_ERR_UNAVAILABLE'))
        assert.equal(await backend.stat('k'), undefined)
      })
    })

    test('a server that hangs mid-test: calls reject TIMEOUT after requestTimeoutMs, or ABORTED when aborted first', async () => {
      const relay = await TcpRelay.start(env.endpoint)
      // `patient` has the default 30 s timeouts, so only the abort can end its call in time;
      // `impatient` gives up after 300 ms per attempt. Both go through the relay.
      await withBackend({ endpoint: relay.url('http') }, async (patient, bucket) => {
        const impatient = await open(bucket, { id: 'impatient', endpoint: relay.url('http'), requestTimeoutMs: 300, maxAttempts: 2 })
        try {
          await patient.put('k', bytesOf(1000))
          assertBytes(await patient.read('k'), bytesOf(1000))
          relay.stall()
          await assert.rejects(impatient.put('k', bytesOf(2000)), code('STORAGE_ERR_TIMEOUT'))
          await assert.rejects(impatient.read('k'), code('STORAGE_ERR_TIMEOUT'))
          await assert.rejects(impatient.stat('k'), code('STORAGE_ERR_TIMEOUT'))
          await assert.rejects(keysOf(impatient), code('STORAGE_ERR_TIMEOUT'))
          const controller = new AbortController()
          const reason = new Error('caller gave up')
          const reading = patient.read('k', { signal: controller.signal })
          setTimeout(() => controller.abort(reason), 50)
          await assert.rejects(reading, (err: Error) => code('STORAGE_ERR_ABORTED')(err) && err.cause === reason)
        } finally {
          impatient.close()
        }
      }).finally(() => relay.cut())
    })

    test('a server that is stopped mid-test: calls reject UNAVAILABLE', async () => {
      const relay = await TcpRelay.start(env.endpoint)
      await withBackend({ endpoint: relay.url('http'), requestTimeoutMs: 2000, maxAttempts: 2 }, async (backend) => {
        await backend.put('k', bytesOf(1000))
        await relay.cut()
        await assert.rejects(backend.put('k', bytesOf(2000)), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(backend.read('k'), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(backend.stat('k'), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(backend.delete('k'), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(keysOf(backend), code('STORAGE_ERR_UNAVAILABLE'))
      }).finally(() => relay.cut())
    })
  })
})
