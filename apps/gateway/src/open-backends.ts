import { FsBackend, S3Backend, isStorageError, type Backend } from '@tessera/storage'
import { backendIdentity, s3BackendId } from './backend-identity.js'
import { backendLabel, type BackendSpec } from './backend-spec.js'
import type { GatewayConfig } from './config.js'
import { GatewayError } from './errors.js'

/** The store's backends, opened, and how to let go of them. */
export interface OpenBackends {
  /** One per `config.backends` entry, in the same order. */
  readonly backends: readonly Backend[]
  /** Closes the S3 backends' pooled connections (directories hold nothing open). Idempotent. */
  readonly close: () => void
}

/**
 * Opens every configured backend at once: a directory gets its `FsBackend` (and its id file,
 * created on first use), a bucket its `S3Backend` (one `HeadBucket` proves it exists and the
 * credentials may use it; with `s3.createBuckets` a missing bucket is created instead).
 *
 * The gateway starts only when every backend opens: a backend that is down at startup is much more
 * often a wrong bucket name, endpoint or credentials than an outage, and the process supervisor's
 * restart is the retry. Once running, a backend that goes away is read and written around.
 *
 * @throws GatewayError `GATEWAY_ERR_BACKEND_UNAVAILABLE` naming every backend that failed, one per
 *   line with its storage code and reason; the backends that did open are closed first.
 */
export async function openBackends(config: Pick<GatewayConfig, 'backends' | 's3' | 'fsync'>): Promise<OpenBackends> {
  const { s3 } = config
  const open = async (spec: BackendSpec): Promise<Backend> => {
    if (spec.kind === 'fs') return FsBackend.open({ id: await backendIdentity(spec.dir), root: spec.dir, fsync: config.fsync })
    return S3Backend.open({
      id: s3BackendId(spec.bucket, spec.prefix),
      bucket: spec.bucket,
      prefix: spec.prefix,
      endpoint: s3.endpoint, // undefined = AWS
      region: s3.region, // undefined = the AWS config chain
      forcePathStyle: s3.forcePathStyle,
      createBucket: s3.createBuckets,
    })
  }
  const settled = await Promise.allSettled(config.backends.map(open))
  const opened = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    for (const backend of opened) if (backend instanceof S3Backend) backend.close()
  }
  const failures = settled.flatMap((s, i) => (s.status === 'rejected' ? [`${backendLabel(config.backends[i]!)}: ${reason(s.reason)}`] : []))
  if (failures.length > 0) {
    close()
    const first = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')!.reason
    const what = `${failures.length} of ${config.backends.length} backends could not be opened`
    throw new GatewayError('GATEWAY_ERR_BACKEND_UNAVAILABLE', `${what}:\n${failures.map((f) => `  - ${f}`).join('\n')}`, { cause: first })
  }
  return { backends: settled.map((s) => (s as PromiseFulfilledResult<Backend>).value), close }
}

function reason(err: unknown): string {
  if (isStorageError(err)) return `${err.message} (${err.code})`
  if (err instanceof Error) return `${err.message}${'code' in err && typeof err.code === 'string' ? ` (${err.code})` : ''}`
  return String(err)
}
