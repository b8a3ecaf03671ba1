import type { UploadConcat, UploadMetadata } from '@tessera/protocol'
import type { Request } from 'express'
import { ownerField, principalOf } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import { attemptFromMetadata } from '../reconciliation/attempt-metadata.js'
import type { UploadRecord } from '../upload-record.js'
import type { TusContext } from './context.js'

/** What a new (not final) upload is created with. */
export interface NewUpload {
  /** Bytes; undefined while deferred. */
  readonly length: number | undefined
  readonly metadata: UploadMetadata
  /** A tus partial (`Upload-Concat: partial`). */
  readonly concat?: Extract<UploadConcat, { type: 'partial' }>
}

/**
 * Creates an empty upload for the request's principal — tus POST and the resumable-upload draft's
 * creation alike: 413 past `--max-size`, hooks may refuse it or replace its metadata
 * (docs/hooks.md), a Tessera attempt is indexed by its partition, and the `created` event is told.
 */
export async function createUpload(ctx: TusContext, req: Request, upload: NewUpload): Promise<UploadRecord> {
  const { length, metadata, concat } = upload
  const { maxSize } = ctx.deps.config
  if (length !== undefined && maxSize !== undefined && length > maxSize) {
    throw new GatewayError('GATEWAY_ERR_TOO_LARGE', `Upload-Length ${length} exceeds the maximum upload size ${maxSize}`)
  }
  const attempt = attemptFromMetadata(metadata, concat?.type === 'partial')
  // Hooks may refuse the creation or replace the metadata (docs/hooks.md); the attempt is the client's.
  const accepted = await ctx.lifecycle.beforeCreate({ length, metadata, ...(concat && { concat }), request: req })

  const id = ctx.newId()
  const record: UploadRecord = {
    id,
    ...(length !== undefined && { length }),
    metadata: accepted,
    createdAt: new Date(ctx.deps.now()).toISOString(),
    // An empty upload is finished as it is created: it never expires (as a written one once finished).
    ...(length !== 0 && { expiresAt: ctx.expiresAt() }),
    ...(concat && { concat }),
    ...(attempt && { attempt }),
    ...ownerField(principalOf(req)),
  }
  // Index, then object, then record: a crash in between leaves an index entry without a record, or an
  // unreferenced empty object — never a record without data, nor an attempt its partition does not list.
  await ctx.reconciler.index(record)
  await ctx.deps.store.create(id)
  await ctx.deps.records.set(id, record)
  await ctx.reconciler.created(record)
  ctx.deps.log.info({ uploadId: id, length, deferred: length === undefined, partial: concat?.type === 'partial' }, 'upload created')
  ctx.lifecycle.emit({ type: 'created', upload: record, offset: 0 })
  if (length === 0) ctx.lifecycle.emit({ type: 'finished', upload: record, offset: 0 })
  return record
}
