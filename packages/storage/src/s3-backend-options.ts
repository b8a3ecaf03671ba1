import type { S3ClientConfig } from '@aws-sdk/client-s3'
import { isBlockKeySegment } from './block-key.js'
import { integerOption, invalidOption } from './invalid-option.js'

/** Options of {@link S3Backend.open}. */
export interface S3BackendOptions {
  /** Stable backend id, unique among the backends of one store (it is written into manifests). */
  readonly id: string
  /** Bucket that holds the blocks: 3–63 characters of `a-z0-9.-`, starting and ending with a letter or digit. */
  readonly bucket: string
  /**
   * Key prefix of this backend inside the bucket, so several backends (or other data) can share
   * one: block `u1/0-3` is the object `<prefix>/u1/0-3`. Segments of `[A-Za-z0-9._-]` joined by
   * `/`; a trailing `/` is optional. Default `''` (the whole bucket).
   */
  readonly prefix?: string
  /**
   * URL of an S3-compatible server (`http://127.0.0.1:7480` for radosgw, MinIO, …). Default: the
   * AWS endpoint of `region`.
   */
  readonly endpoint?: string
  /**
   * Address buckets as `<endpoint>/<bucket>` instead of `<bucket>.<endpoint>`. Most S3-compatible
   * servers on an IP address or without wildcard DNS need `true`. Default `false`.
   */
  readonly forcePathStyle?: boolean
  /** Region to sign requests for. Default: the AWS config chain (`AWS_REGION`, the profile). */
  readonly region?: string
  /**
   * Credentials, or a provider of them. Default: the AWS SDK's default chain (env
   * `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE` and the shared config files, SSO,
   * web identity, container and instance metadata).
   */
  readonly credentials?: S3ClientConfig['credentials']
  /** Create the bucket in `open()` when it does not exist. Default `false`: a missing bucket fails `open()`. */
  readonly createBucket?: boolean
  /** Time to establish a TCP connection, ms. Default 3000. */
  readonly connectTimeoutMs?: number
  /**
   * Time to wait for an answer to start, and the longest a socket may then stay idle while a
   * body moves, ms. Each of up to `maxAttempts` attempts gets it. Default 30 000.
   */
  readonly requestTimeoutMs?: number
  /** Attempts of one call, first included, with the SDK's backoff between them (1 = no retry). Default 3. */
  readonly maxAttempts?: number
  /**
   * Largest streamed `put` body, bytes. S3 needs a body's length before it is sent, so a streamed
   * body is collected in memory first (one block; the object store writes whole `Uint8Array`s,
   * which are sent as they are). A longer body rejects `STORAGE_ERR_INVALID_ARGUMENT`. Default
   * 64 MiB (the object store's largest `blockBytes`); at most 5 GiB (S3's single-PUT limit).
   */
  readonly maxBlockBytes?: number
  /** Keys asked for per `ListObjectsV2` page (S3 answers at most 1000). Default 1000. */
  readonly listPageKeys?: number
}

/** Defaults of the optional {@link S3BackendOptions} (endpoint, region and credentials come from the AWS chain). */
export const defaultS3BackendOptions: Readonly<{
  prefix: string
  forcePathStyle: boolean
  createBucket: boolean
  connectTimeoutMs: number
  requestTimeoutMs: number
  maxAttempts: number
  maxBlockBytes: number
  listPageKeys: number
}> = Object.freeze({
  prefix: '',
  forcePathStyle: false,
  createBucket: false,
  connectTimeoutMs: 3000,
  requestTimeoutMs: 30_000,
  maxAttempts: 3,
  maxBlockBytes: 64 * 1024 * 1024,
  listPageKeys: 1000,
})

/** {@link S3BackendOptions} validated, with defaults applied and `prefix` normalised to `''` or `…/`. */
export interface ResolvedS3BackendOptions extends Required<Omit<S3BackendOptions, 'endpoint' | 'region' | 'credentials'>> {
  readonly endpoint: string | undefined
  readonly region: string | undefined
  readonly credentials: S3ClientConfig['credentials'] | undefined
}

const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const MAX_SINGLE_PUT_BYTES = 5 * 1024 * 1024 * 1024

/**
 * Validates `options` and applies {@link defaultS3BackendOptions}; never mutates `options`.
 *
 * @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` naming the option, the expected and the actual value.
 */
export function resolveS3BackendOptions(options: S3BackendOptions): ResolvedS3BackendOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options)
  const d = defaultS3BackendOptions
  const { id, bucket, endpoint, region, credentials } = options
  const { prefix = d.prefix, forcePathStyle = d.forcePathStyle, createBucket = d.createBucket } = options
  if (typeof id !== 'string' || id === '') throw invalidOption('id', 'a non-empty string', id)
  if (typeof bucket !== 'string' || !BUCKET_PATTERN.test(bucket) || bucket.includes('..')) {
    throw invalidOption('bucket', 'an S3 bucket name (3–63 characters of a-z 0-9 . -, starting and ending with a letter or digit)', bucket)
  }
  if (typeof prefix !== 'string' || !(prefix === '' || prefix.replace(/\/$/, '').split('/').every(isBlockKeySegment))) {
    throw invalidOption('prefix', "'' or segments of [A-Za-z0-9._-] joined by '/'", prefix)
  }
  if (endpoint !== undefined && !isHttpUrl(endpoint)) throw invalidOption('endpoint', 'an http: or https: URL', endpoint)
  if (typeof forcePathStyle !== 'boolean') throw invalidOption('forcePathStyle', 'a boolean', forcePathStyle)
  if (region !== undefined && (typeof region !== 'string' || !/^[A-Za-z0-9-]+$/.test(region))) {
    throw invalidOption('region', 'a region name such as "us-east-1"', region)
  }
  if (credentials !== undefined && typeof credentials !== 'function' && !isCredentials(credentials)) {
    throw invalidOption('credentials', '{ accessKeyId, secretAccessKey } strings or a provider function', redactCredentials(credentials))
  }
  if (typeof createBucket !== 'boolean') throw invalidOption('createBucket', 'a boolean', createBucket)
  return {
    id,
    bucket,
    prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    endpoint,
    forcePathStyle,
    region,
    credentials,
    createBucket,
    connectTimeoutMs: integerOption('connectTimeoutMs', options.connectTimeoutMs ?? d.connectTimeoutMs, 1, 10 * 60_000),
    requestTimeoutMs: integerOption('requestTimeoutMs', options.requestTimeoutMs ?? d.requestTimeoutMs, 1, 60 * 60_000),
    maxAttempts: integerOption('maxAttempts', options.maxAttempts ?? d.maxAttempts, 1, 20),
    maxBlockBytes: integerOption('maxBlockBytes', options.maxBlockBytes ?? d.maxBlockBytes, 1, MAX_SINGLE_PUT_BYTES),
    listPageKeys: integerOption('listPageKeys', options.listPageKeys ?? d.listPageKeys, 1, 1000),
  }
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

function isCredentials(value: unknown): boolean {
  const c = value as { accessKeyId?: unknown; secretAccessKey?: unknown; sessionToken?: unknown } | null
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.accessKeyId === 'string' &&
    c.accessKeyId !== '' &&
    typeof c.secretAccessKey === 'string' &&
    c.secretAccessKey !== '' &&
    (c.sessionToken === undefined || typeof c.sessionToken === 'string')
  )
}

// Never echo a secret into an error message.
function redactCredentials(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.keys(value).map((k) => [k, '…']))
}
