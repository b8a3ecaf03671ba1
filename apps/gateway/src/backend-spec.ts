import { resolve } from 'node:path'
import { isStorageError, resolveS3BackendOptions } from '@tessera/storage'

/**
 * One backend of the store as configured: a directory, or a bucket (and key prefix inside it) of
 * the S3 server `--s3-endpoint` names. Each is one failure domain for placement, whatever its kind.
 */
export type BackendSpec = FsBackendSpec | S3BackendSpec

/** A backend directory (`FsBackend`). */
export interface FsBackendSpec {
  readonly kind: 'fs'
  /** Absolute path of the directory. */
  readonly dir: string
}

/** A bucket of an S3 server (`S3Backend`). */
export interface S3BackendSpec {
  readonly kind: 's3'
  readonly bucket: string
  /** Key prefix inside the bucket, without a trailing `/`; `''` = the whole bucket. */
  readonly prefix: string
}

const S3_URL = /^s3:\/\/([^/]*)(?:\/(.*))?$/

/** How a backend is named in logs and errors: its directory, or `s3://bucket[/prefix]`. */
export function backendLabel(spec: BackendSpec): string {
  if (spec.kind === 'fs') return spec.dir
  return spec.prefix === '' ? `s3://${spec.bucket}` : `s3://${spec.bucket}/${spec.prefix}`
}

/**
 * Parses the entries of `--backends`: `s3://bucket[/prefix]` is an S3 backend (bucket and prefix
 * checked as `S3Backend` would check them), anything else a directory resolved against `cwd`.
 * Problems (bad bucket names, duplicates, S3 prefixes that overlap in one bucket) are pushed onto
 * `problems`, each starting with `from`; the entries that parsed are returned.
 */
export function parseBackendList(entries: readonly string[], from: string, cwd: string, problems: string[]): BackendSpec[] {
  const specs: BackendSpec[] = []
  for (const entry of entries) {
    const s3 = S3_URL.exec(entry)
    if (!s3) {
      if (entry.startsWith('s3:')) problems.push(`${from}: ${JSON.stringify(entry)} is not s3://bucket[/prefix]`)
      else specs.push({ kind: 'fs', dir: resolve(cwd, entry) })
      continue
    }
    const bucket = s3[1]!
    const prefix = (s3[2] ?? '').replace(/\/$/, '')
    try {
      resolveS3BackendOptions({ id: entry, bucket, prefix })
    } catch (err) {
      if (!isStorageError(err, 'STORAGE_ERR_INVALID_ARGUMENT')) throw err
      problems.push(`${from}: ${entry}: ${err.message}`)
      continue
    }
    specs.push({ kind: 's3', bucket, prefix })
  }
  const labels = specs.map(backendLabel)
  const repeated = [...new Set(labels.filter((l, i) => labels.indexOf(l) !== i))]
  if (repeated.length > 0) problems.push(`${from}: backends must be distinct, got ${repeated.join(', ')} more than once`)
  // A prefix inside another backend's prefix would make that backend list (and purge) this one's blocks.
  const s3 = specs.filter((s): s is S3BackendSpec => s.kind === 's3')
  for (const a of s3) {
    for (const b of s3) {
      if (a !== b && a.bucket === b.bucket && a.prefix !== b.prefix && (a.prefix === '' || b.prefix.startsWith(`${a.prefix}/`))) {
        problems.push(`${from}: ${backendLabel(b)} lies inside ${backendLabel(a)}: backends in one bucket need disjoint prefixes`)
      }
    }
  }
  return specs
}
