// The real S3 server the S3 tests run against, and what a test does to its buckets behind the
// adapter's back — one fixture for S3Backend's own tests, the gateway's in-process tests and the
// cross-process ones in test/. The server comes from scripts/s3-local.sh
// (`eval "$(scripts/s3-local.sh start)"`), which exports TESSERA_S3_ENDPOINT,
// TESSERA_S3_FORCE_PATH_STYLE and the AWS_* credentials; without it the tests skip, except under
// CI=true, where they fail.
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'

/** How to reach the test server. */
export interface S3TestEnv {
  readonly endpoint: string
  readonly forcePathStyle: boolean
  readonly region: string
}

// The SDK's notice that it will drop Node 20 (printed once per process at the first client) is not
// what these tests are about; the gateway itself leaves it on (README "S3 backends").
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const endpoint = process.env.TESSERA_S3_ENDPOINT
/** The server, or `undefined` when none is configured. */
const s3TestEnv: S3TestEnv | undefined =
  endpoint === undefined || endpoint === ''
    ? undefined
    : { endpoint, forcePathStyle: process.env.TESSERA_S3_FORCE_PATH_STYLE !== 'false', region: process.env.AWS_REGION || 'us-east-1' }

const MISSING = 'TESSERA_S3_ENDPOINT is not set: run `eval "$(scripts/s3-local.sh start)"` to run the S3 backend tests against a real S3-compatible server'

/**
 * `describe(name, body)` when an S3 server is configured. Otherwise one test that skips with the
 * reason, or — under CI=true, where .ci/run starts the server — fails.
 */
export function describeS3(name: string, options: { timeout?: number }, body: (env: S3TestEnv) => void): void {
  if (s3TestEnv) {
    const env = s3TestEnv
    describe(name, options, () => body(env))
  } else if (process.env.CI === 'true') {
    test(name, () => {
      throw new Error(`CI=true but ${MISSING}; .ci/run must start it with scripts/s3-local.sh and export its env`)
    })
  } else {
    test(name, { skip: MISSING }, () => {})
  }
}

/** The flags that point a gateway at the test server (buckets created at startup, as in development). */
export function s3Flags(env: S3TestEnv): string[] {
  return ['--s3-endpoint', env.endpoint, ...(env.forcePathStyle ? ['--s3-force-path-style'] : []), '--s3-region', env.region, '--s3-create-buckets']
}

let made = 0

/**
 * Buckets of one test file on the test server, through a client of its own (not the gateway's
 * adapter): fresh names no other run uses, direct reads and writes of objects, and removal of
 * everything made once the file is done.
 */
export class TestBuckets {
  readonly client: S3Client
  readonly #names = new Set<string>()

  constructor(env: S3TestEnv) {
    this.client = new S3Client({ endpoint: env.endpoint, forcePathStyle: env.forcePathStyle, region: env.region })
  }

  /** `count` bucket names, unique to this process and call; not created (the gateway creates them). */
  fresh(count: number, tag: string): string[] {
    made += 1
    const run = `${process.pid}-${made}-${randomBytes(2).toString('hex')}`
    const names = Array.from({ length: count }, (_, i) => `tessera-${tag}-${run}-${i}`)
    for (const name of names) this.#names.add(name)
    return names
  }

  async create(bucket: string): Promise<void> {
    this.#names.add(bucket)
    await this.client.send(new CreateBucketCommand({ Bucket: bucket }))
  }

  /** Object keys under `prefix` (`[]` when the bucket does not exist). */
  async keys(bucket: string, prefix = ''): Promise<string[]> {
    const keys: string[] = []
    let token: string | undefined
    try {
      do {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
        for (const object of page.Contents ?? []) keys.push(object.Key!)
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token !== undefined)
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchBucket') return []
      throw err
    }
    return keys.sort()
  }

  async get(bucket: string, key: string): Promise<Uint8Array> {
    const answer = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    return answer.Body!.transformToByteArray()
  }

  async put(bucket: string, key: string, body: Uint8Array): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
  }

  /** Flips one byte of an object in place (bit rot: the server answers, wrongly). */
  async flip(bucket: string, key: string, at: number): Promise<void> {
    const bytes = await this.get(bucket, key)
    bytes[at] = bytes[at]! ^ 0x5a
    await this.put(bucket, key, bytes)
  }

  /** Deletes every object, listing again until none is left (a writer may still be adding some). */
  async #empty(bucket: string): Promise<void> {
    for (;;) {
      const keys = await this.keys(bucket)
      if (keys.length === 0) return
      // DeleteObjects takes at most 1000 keys.
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }))
        await this.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }))
      }
    }
  }

  /**
   * The bucket vanishes: emptied, then deleted. Retried while a writer still adds objects
   * (`BucketNotEmpty`), so it works under a running upload too. A missing bucket resolves.
   */
  async remove(bucket: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await this.#empty(bucket)
      try {
        await this.client.send(new DeleteBucketCommand({ Bucket: bucket }))
        return
      } catch (err) {
        const name = (err as { name?: string }).name
        if (name === 'NoSuchBucket') return
        if (name !== 'BucketNotEmpty' || attempt >= 50) throw err
      }
    }
  }

  /** Removes every bucket this instance named or made (never throws), and closes the client. */
  async dispose(): Promise<void> {
    for (const name of this.#names) await this.remove(name).catch(() => undefined)
    this.#names.clear()
    this.client.destroy()
  }
}
