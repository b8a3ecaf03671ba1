import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import type { Readable } from 'node:stream'
import { abortableStream, raceAbort, throwIfAborted } from './abort.js'
import { BLOCK_KEY_PATTERN, type Backend, type BackendCallOptions, type BackendCapacity, type BlockBody, type BlockStat } from './backend.js'
import { assertBlockKey, assertBlockKeyPrefix, assertPutArguments } from './block-key.js'
import { StorageError, isStorageError } from './errors.js'
import { invalidOption } from './invalid-option.js'
import { resolveS3BackendOptions, type ResolvedS3BackendOptions, type S3BackendOptions } from './s3-backend-options.js'
import { isS3NotFound, s3StorageError } from './s3-error.js'

/**
 * A {@link Backend} that keeps each block as one object of an S3 bucket (AWS S3, or an
 * S3-compatible server; tested against Ceph's radosgw 16.2), on `@aws-sdk/client-s3`.
 *
 * - Layout: block `u1/0-3` is the object `<prefix>u1/0-3`. `list` pages through
 *   `ListObjectsV2` under the prefix and skips objects whose names are not block keys.
 * - Atomic: one `PutObject` per block. S3 makes an object visible only once its whole body has
 *   arrived, so a reader sees the old or the new bytes, never a mix, and concurrent puts to one
 *   key leave one complete value (the last to finish). A streamed body is collected in memory
 *   first (at most `maxBlockBytes`; see {@link S3BackendOptions.maxBlockBytes}), so a body that
 *   fails or is aborted never reaches the server. An abort while the request is in flight
 *   destroys it, and the server discards an incomplete body; only an abort that lands after the
 *   server stored the object but before its answer arrives leaves the new bytes behind a
 *   rejection (the put happened; the caller was told it might not have).
 * - Consistency: AWS S3 (since December 2020) and radosgw are strongly consistent per key: a
 *   `read`, `stat` or `list` that starts after a `put` or `delete` resolved sees its effect.
 *   Other S3-compatible servers may only be eventually consistent for `list` (a new key missing
 *   for a while, a deleted one still listed). The object store reads by manifest; only its purge
 *   of a deleted object lists, and a block a lagging listing misses stays an unreferenced orphan.
 * - No segments: S3 has no positional writes into an object (multipart parts are ≥ 5 MiB and
 *   invisible until completed), so `createSegment`/`readRange` are not offered and the object
 *   store stores one object per block here.
 * - `stat` reports `LastModified`, which S3 gives to the second. `capacity` is unknown (both
 *   `undefined`): a bucket has no fixed size.
 * - Errors (see `s3StorageError`): `STORAGE_ERR_NOT_FOUND` (no such key), `STORAGE_ERR_UNAVAILABLE`
 *   (the bucket is gone, the server refuses or resets connections, 5xx, throttling),
 *   `STORAGE_ERR_TIMEOUT` (no connection within `connectTimeoutMs`, or no progress within
 *   `requestTimeoutMs`, after `maxAttempts` attempts), `STORAGE_ERR_ACCESS_DENIED`,
 *   `STORAGE_ERR_IO` (any other refusal), `STORAGE_ERR_INVALID_KEY`, `STORAGE_ERR_ABORTED` (with
 *   the signal's reason as `cause`). An error thrown by a streamed `put` body propagates unchanged.
 * - Call {@link S3Backend.close} when done: it closes the pooled keep-alive connections.
 */
export class S3Backend implements Backend {
  /** Stable id, from the options. */
  readonly id: string
  /** The bucket. */
  readonly bucket: string
  /** The key prefix inside the bucket: `''` or ending in `/`. */
  readonly prefix: string
  /** Largest streamed put body, bytes. */
  readonly maxBlockBytes: number
  readonly #listPageKeys: number
  readonly #client: S3Client

  private constructor(options: ResolvedS3BackendOptions) {
    this.id = options.id
    this.bucket = options.bucket
    this.prefix = options.prefix
    this.maxBlockBytes = options.maxBlockBytes
    this.#listPageKeys = options.listPageKeys
    this.#client = new S3Client({
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      forcePathStyle: options.forcePathStyle,
      maxAttempts: options.maxAttempts,
      // Blocks carry their own checksums, verified on every read by the object store: the SDK's
      // CRC32 of each body would cost CPU twice, and older S3-compatible servers reject the
      // trailing-checksum encoding it uses for streams.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // `Expect: 100-continue` (sent by default for bodies ≥ 2 MiB) makes the SDK open a new,
      // non-pooled connection per request; it only saves sending a body the server refuses.
      expectContinueHeader: false,
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs,
        requestTimeout: options.requestTimeoutMs,
        throwOnRequestTimeout: true,
        socketTimeout: options.requestTimeoutMs,
      },
    })
  }

  /**
   * Validates the options, then checks that the bucket exists and the credentials may use it
   * (`HeadBucket`), creating it first when `createBucket` is set.
   *
   * @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` for invalid options (or no region found),
   *   `STORAGE_ERR_UNAVAILABLE` when the bucket does not exist or the server cannot be reached,
   *   `STORAGE_ERR_ACCESS_DENIED`, `STORAGE_ERR_TIMEOUT`, `STORAGE_ERR_ABORTED`.
   */
  static async open(options: S3BackendOptions, call: BackendCallOptions = {}): Promise<S3Backend> {
    const resolved = resolveS3BackendOptions(options)
    const backend = new S3Backend(resolved)
    const { signal } = call
    const what = `open backend ${backend.id} on bucket ${backend.bucket}`
    try {
      throwIfAborted(signal, what)
      try {
        await backend.#client.send(new HeadBucketCommand({ Bucket: backend.bucket }), { abortSignal: signal })
      } catch (err) {
        // HEAD answers carry no error body: a 404 here is the bucket's.
        if (!isS3NotFound(err) || signal?.aborted) throw err
        if (!resolved.createBucket) throw new StorageError('STORAGE_ERR_UNAVAILABLE', `${what} failed: bucket ${backend.bucket} does not exist (set createBucket to create it)`, { cause: err })
        await backend.#createBucket(signal)
      }
    } catch (err) {
      backend.close()
      throw s3StorageError(err, what, signal, backend.bucket)
    }
    return backend
  }

  /** See {@link Backend.put}. A streamed body is collected first (at most `maxBlockBytes`). */
  async put(key: string, body: BlockBody, options: BackendCallOptions = {}): Promise<{ readonly bytes: number }> {
    assertPutArguments(key, body)
    const { signal } = options
    const what = `put ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(signal, what)
    const bytes = body instanceof Uint8Array ? body : await collectBody(body, this.maxBlockBytes, signal, what)
    throwIfAborted(signal, what)
    try {
      await this.#client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: bytes, ContentLength: bytes.byteLength }),
        { abortSignal: signal },
      )
    } catch (err) {
      throw s3StorageError(err, what, signal, this.bucket)
    }
    return { bytes: bytes.byteLength }
  }

  /** See {@link Backend.get}. Errors while streaming are `StorageError`s too (`ABORTED`, `TIMEOUT`, `UNAVAILABLE`). */
  async get(key: string, options: BackendCallOptions = {}): Promise<Readable> {
    assertBlockKey(key)
    const { signal } = options
    const what = `get ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(signal, what)
    let body: Readable
    try {
      const answer = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), { abortSignal: signal })
      if (answer.Body === undefined) throw new StorageError('STORAGE_ERR_IO', `${what} failed: the answer has no body`)
      body = answer.Body as Readable
    } catch (err) {
      throw s3StorageError(err, what, signal, this.bucket)
    }
    return abortableStream(body, signal, what, (err) => s3StorageError(err, what, signal, this.bucket))
  }

  /** See {@link Backend.read}. */
  async read(key: string, options: BackendCallOptions = {}): Promise<Uint8Array> {
    const stream = await this.get(key, options)
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }

  /** See {@link Backend.delete}. `DeleteObject` of an absent key succeeds in S3. */
  async delete(key: string, options: BackendCallOptions = {}): Promise<void> {
    assertBlockKey(key)
    const { signal } = options
    const what = `delete ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(signal, what)
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), { abortSignal: signal })
    } catch (err) {
      const error = s3StorageError(err, what, signal, this.bucket)
      if (error.code !== 'STORAGE_ERR_NOT_FOUND') throw error
    }
  }

  /**
   * See {@link Backend.stat}. A HEAD answer has no error body, so a missing bucket also resolves
   * `undefined` here (`read`, `put` and `list` tell it apart: `STORAGE_ERR_UNAVAILABLE`).
   */
  async stat(key: string, options: BackendCallOptions = {}): Promise<BlockStat | undefined> {
    assertBlockKey(key)
    const { signal } = options
    const what = `stat ${JSON.stringify(key)} on ${this.id}`
    throwIfAborted(signal, what)
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), { abortSignal: signal })
      return { bytes: head.ContentLength ?? 0, mtimeMs: head.LastModified?.getTime() ?? 0 }
    } catch (err) {
      if (isS3NotFound(err) && !signal?.aborted) return undefined
      throw s3StorageError(err, what, signal, this.bucket)
    }
  }

  /** See {@link Backend.list}: pages of `ListObjectsV2`; objects whose names are not block keys are skipped. */
  async *list(prefix: string, options: BackendCallOptions = {}): AsyncIterable<string> {
    assertBlockKeyPrefix(prefix)
    const { signal } = options
    const what = `list ${JSON.stringify(prefix)} on ${this.id}`
    throwIfAborted(signal, what)
    let token: string | undefined
    do {
      let page
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, MaxKeys: this.#listPageKeys, ContinuationToken: token }),
          { abortSignal: signal },
        )
      } catch (err) {
        throw s3StorageError(err, what, signal, this.bucket)
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.prefix.length)
        if (key !== undefined && BLOCK_KEY_PATTERN.test(key)) yield key
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
      throwIfAborted(signal, what)
    } while (token !== undefined)
  }

  /** See {@link Backend.capacity}: a bucket has no fixed size, so both are `undefined`. */
  async capacity(options: BackendCallOptions = {}): Promise<BackendCapacity> {
    throwIfAborted(options.signal, `capacity of ${this.id}`)
    return { totalBytes: undefined, freeBytes: undefined }
  }

  /** Closes the client's pooled keep-alive connections; call it when done with the backend. Idempotent. */
  close(): void {
    this.#client.destroy()
  }

  async #createBucket(signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.#client.send(new CreateBucketCommand({ Bucket: this.bucket }), { abortSignal: signal })
    } catch (err) {
      // Another process created it meanwhile: fine, it is ours to use.
      const name = (err as { name?: unknown }).name
      if (name !== 'BucketAlreadyOwnedByYou' || signal?.aborted) throw err
    }
  }
}

/**
 * Collects a streamed body into one buffer of at most `limit` bytes. An error thrown by the
 * source propagates unchanged (a failing client is not a failing server).
 */
async function collectBody(body: AsyncIterable<Uint8Array>, limit: number, signal: AbortSignal | undefined, what: string): Promise<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]()
  const parts: Uint8Array[] = []
  let bytes = 0
  let finished = false
  try {
    for (;;) {
      let step: IteratorResult<Uint8Array>
      try {
        // A source that never yields must not outlive the signal.
        step = await raceAbort(chunks.next(), signal, what)
      } catch (err) {
        if (!isStorageError(err, 'STORAGE_ERR_ABORTED')) finished = true
        throw err
      }
      if (step.done) {
        finished = true
        return parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts, bytes)
      }
      const chunk: unknown = step.value
      if (!(chunk instanceof Uint8Array)) throw invalidOption('body chunk', 'a Uint8Array', chunk)
      bytes += chunk.byteLength
      if (bytes > limit) throw invalidOption('body', `at most ${limit} bytes (maxBlockBytes)`, `more than ${limit} bytes`)
      // Copy: a source may reuse its buffer for the next chunk.
      if (chunk.byteLength > 0) parts.push(Uint8Array.prototype.slice.call(chunk))
    }
  } finally {
    // Release the source (destroys a Node Readable); do not wait, it may be stuck.
    if (!finished) chunks.return?.().catch(() => {})
  }
}
