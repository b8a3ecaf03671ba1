import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { TcpRelay } from '@tessera/fault-proxy'
import { after, describe, test } from 'node:test'
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { S3Backend, defaultS3BackendOptions, resolveS3BackendOptions, type S3BackendOptions } from '../src/index.js'
import { assertBytes, bytesOf, chunked, code, describeBackend } from './describe-backend.js'

// The server comes from scripts/s3-local.sh (`eval "$(scripts/s3-local.sh start)"`), which
// exports these; any S3-compatible server with the same variables works.
const endpoint = process.env.TESSERA_S3_ENDPOINT
const inCi = process.env.CI === 'true'
const forcePathStyle = process.env.TESSERA_S3_FORCE_PATH_STYLE !== 'false'
const skip =
  endpoint === undefined || endpoint === ''
    ? 'TESSERA_S3_ENDPOINT is not set: run `eval "$(scripts/s3-local.sh start)"` to test S3Backend against a real S3-compatible server'
    : false

/** A client of our own, beside the backend's, to look at the bucket directly. */
function rawClient(): S3Client {
  return new S3Client({ endpoint, forcePathStyle, region: process.env.AWS_REGION ?? 'us-east-1' })
}

let buckets = 0
/** A bucket name no other test (or concurrent run) uses. */
function freshBucket(): string {
  buckets += 1
  return `tessera-t-${process.pid}-${buckets}-${randomBytes(3).toString('hex')}`
}

/** Every object and in-progress multipart upload in `bucket`: what the medium holds. */
async function bucketEntries(client: S3Client, bucket: string): Promise<string[]> {
  const names: string[] = []
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
    for (const object of page.Contents ?? []) names.push(object.Key ?? '')
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token !== undefined)
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  for (const upload of uploads.Uploads ?? []) names.push(`multipart:${upload.Key ?? ''}`)
  return names.sort()
}

async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }))
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key ?? '' }))
    if (keys.length === 0) break
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }))
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }))
}

function options(bucket: string, extra: Partial<S3BackendOptions> = {}): S3BackendOptions {
  return { id: 's3-test', bucket, endpoint, forcePathStyle, createBucket: true, ...extra }
}

/** Runs `body` with a backend on a fresh bucket, then removes the bucket. */
async function withBackend(extra: Partial<S3BackendOptions>, body: (backend: S3Backend, bucket: string, raw: S3Client) => Promise<void>): Promise<void> {
  const raw = rawClient()
  const bucket = freshBucket()
  const backend = await S3Backend.open(options(bucket, extra))
  try {
    await body(backend, bucket, raw)
  } finally {
    backend.close()
    await removeBucket(raw, bucket).catch(() => {})
    raw.destroy()
  }
}

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

if (skip !== false && inCi) {
  test('S3Backend against a real S3-compatible server', () => {
    assert.fail('CI=true but TESSERA_S3_ENDPOINT is not set: .ci/run must start the server with scripts/s3-local.sh and export its env')
  })
} else if (skip !== false) {
  test('S3Backend against a real S3-compatible server', { skip }, () => {})
} else {
  // node:test runs no afterEach hook for a test that skips itself (the suite's segments test
  // does here), so a bucket whose teardown never ran is removed when the file ends.
  const untornDown = new Map<string, () => Promise<void>>()
  after(async () => {
    for (const teardown of untornDown.values()) await teardown()
  })
  describeBackend('S3Backend', async () => {
    const raw = rawClient()
    const bucket = freshBucket()
    const backend = await S3Backend.open(options(bucket))
    const teardown = async (): Promise<void> => {
      untornDown.delete(bucket)
      backend.close()
      await removeBucket(raw, bucket)
      raw.destroy()
    }
    untornDown.set(bucket, teardown)
    return { backend, rawEntries: () => bucketEntries(raw, bucket), teardown }
  })

  describe('S3Backend', () => {
    test('blocks are objects under the prefix; list skips foreign objects and other prefixes', async () => {
      await withBackend({ prefix: 'team/a' }, async (backend, bucket, raw) => {
        const neighbour = await S3Backend.open(options(bucket, { id: 'neighbour', prefix: 'team/ab' }))
        try {
          await backend.put('u1/0-0', bytesOf(10, 1))
          await neighbour.put('u1/0-0', bytesOf(20, 2))
          await raw.send(new PutObjectCommand({ Bucket: bucket, Key: 'team/a/has space', Body: 'x' }))
          await raw.send(new PutObjectCommand({ Bucket: bucket, Key: 'team/a/u1/../up', Body: 'x' }))
          assert.deepEqual(await bucketEntries(raw, bucket), ['team/a/has space', 'team/a/u1/../up', 'team/a/u1/0-0', 'team/ab/u1/0-0'])
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
      await withBackend({ maxBlockBytes: 100_000 }, async (backend, bucket, raw) => {
        assert.deepEqual(await backend.put('b/fits', chunked(bytesOf(100_000))), { bytes: 100_000 })
        await assert.rejects(backend.put('b/over', chunked(bytesOf(100_001))), code('STORAGE_ERR_INVALID_ARGUMENT'))
        assert.deepEqual(await bucketEntries(raw, bucket), ['b/fits'])
      })
    })

    test('open() of a missing bucket rejects UNAVAILABLE unless createBucket is set', async () => {
      const bucket = freshBucket()
      await assert.rejects(S3Backend.open(options(bucket, { createBucket: false })), code('STORAGE_ERR_UNAVAILABLE'))
      const raw = rawClient()
      const backend = await S3Backend.open(options(bucket, { createBucket: true }))
      const again = await S3Backend.open(options(bucket, { createBucket: true }))
      backend.close()
      again.close()
      await removeBucket(raw, bucket)
      raw.destroy()
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
      await withBackend({}, async (backend, bucket, raw) => {
        await backend.put('k', bytesOf(1))
        await removeBucket(raw, bucket)
        await assert.rejects(backend.put('k', bytesOf(2)), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(backend.read('k'), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(backend.get('k'), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(keysOf(backend), code('STORAGE_ERR_UNAVAILABLE'))
        await assert.rejects(backend.delete('k'), code('STORAGE_ERR_UNAVAILABLE'))
        assert.equal(await backend.stat('k'), undefined)
      })
    })

    test('a server that hangs mid-test: calls reject TIMEOUT after requestTimeoutMs, or ABORTED when aborted first', async () => {
      const relay = await TcpRelay.start(endpoint as string)
      // `patient` has the default 30 s timeouts, so only the abort can end its call in time;
      // `impatient` gives up after 300 ms per attempt. Both go through the relay.
      await withBackend({ endpoint: relay.url('http') }, async (patient, bucket) => {
        const impatient = await S3Backend.open(options(bucket, { id: 'impatient', endpoint: relay.url('http'), requestTimeoutMs: 300, maxAttempts: 2 }))
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
      const relay = await TcpRelay.start(endpoint as string)
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
}
