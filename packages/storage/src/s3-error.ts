import { abortedError } from './abort.js'
import { StorageError } from './errors.js'

// Error names of S3 answers (the `Code` of the XML error body, or the SDK's name for a bodiless
// HEAD answer) and of the SDK itself.
const NOT_FOUND = new Set(['NoSuchKey', 'NotFound'])
const DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'AllAccessDisabled', 'CredentialsProviderError'])
const BUSY = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'Throttling', 'ThrottlingException'])
// Node's socket errors for a server that is not (or no longer) there.
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'EHOSTDOWN', 'ENETDOWN'])

/** What an error of the AWS SDK (or of Node's HTTP stack beneath it) says about itself. */
interface ErrorFacts {
  readonly name: string | undefined
  readonly status: number | undefined
  readonly errno: string | undefined
  readonly message: string
}

function factsOf(err: unknown): ErrorFacts {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown
    code?: unknown
    message?: unknown
    $metadata?: { httpStatusCode?: unknown }
  }
  const status = e.$metadata?.httpStatusCode
  return {
    name: typeof e.name === 'string' ? e.name : undefined,
    status: typeof status === 'number' ? status : undefined,
    errno: typeof e.code === 'string' ? e.code : undefined,
    message: typeof e.message === 'string' && e.message !== '' ? e.message : String(err),
  }
}

/**
 * Whether `err` (from the SDK) means "no object under that key": `NoSuchKey`, or a 404 without
 * a body (HEAD). A missing bucket is not one of these (see {@link s3StorageError}); on HEAD it
 * cannot be told from a missing key.
 */
export function isS3NotFound(err: unknown): boolean {
  const { name, status } = factsOf(err)
  return (name !== undefined && NOT_FOUND.has(name)) || (status === 404 && name !== 'NoSuchBucket')
}

/**
 * Maps an error of an S3 call to a {@link StorageError}, keeping it as `cause`:
 *
 * - the caller's signal fired → `STORAGE_ERR_ABORTED` (whatever the SDK threw);
 * - `NoSuchKey`, or 404 → `STORAGE_ERR_NOT_FOUND`;
 * - `NoSuchBucket` → `STORAGE_ERR_UNAVAILABLE`: the bucket is the backend, so a missing one is a
 *   vanished backend (like `FsBackend`'s vanished root), not a missing block;
 * - `AccessDenied`, bad or expired keys, no credentials found, HTTP 403 → `STORAGE_ERR_ACCESS_DENIED`;
 * - the SDK's `TimeoutError` (connect, answer or idle socket past `requestTimeoutMs`) → `STORAGE_ERR_TIMEOUT`;
 * - refused or reset connections, DNS failures, `SlowDown`, 5xx → `STORAGE_ERR_UNAVAILABLE`;
 * - "Region is missing" → `STORAGE_ERR_INVALID_ARGUMENT` naming `region`;
 * - anything else (another 4xx, a malformed answer) → `STORAGE_ERR_IO`.
 *
 * A {@link StorageError} passes through unchanged.
 */
export function s3StorageError(err: unknown, what: string, signal: AbortSignal | undefined, bucket: string): StorageError {
  if (err instanceof StorageError) return err
  if (signal?.aborted) return abortedError(signal, what)
  const { name, status, errno, message } = factsOf(err)
  const answer = `${name ?? 'error'}${status === undefined ? '' : ` (HTTP ${status})`}`
  if (name === 'NoSuchBucket') return new StorageError('STORAGE_ERR_UNAVAILABLE', `${what} failed: bucket ${bucket} does not exist`, { cause: err })
  if (isS3NotFound(err)) {
    return new StorageError('STORAGE_ERR_NOT_FOUND', `${what} failed: no such block`, { cause: err })
  }
  if ((name !== undefined && DENIED.has(name)) || status === 403) {
    return new StorageError('STORAGE_ERR_ACCESS_DENIED', `${what} failed: ${answer}: ${message}`, { cause: err })
  }
  if (name === 'TimeoutError' || errno === 'ETIMEDOUT') {
    return new StorageError('STORAGE_ERR_TIMEOUT', `${what} failed: ${message}`, { cause: err })
  }
  if ((errno !== undefined && UNREACHABLE.has(errno)) || (name !== undefined && BUSY.has(name)) || (status !== undefined && status >= 500)) {
    return new StorageError('STORAGE_ERR_UNAVAILABLE', `${what} failed: ${errno ?? answer}: ${message}`, { cause: err })
  }
  if (/region is missing/i.test(message)) {
    return new StorageError('STORAGE_ERR_INVALID_ARGUMENT', `${what} failed: no \`region\` given and none found in the AWS config chain (AWS_REGION, profile)`, { cause: err })
  }
  return new StorageError('STORAGE_ERR_IO', `${what} failed: ${answer}: ${message}`, { cause: err })
}
