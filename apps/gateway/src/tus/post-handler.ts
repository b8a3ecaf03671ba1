import { parseConcat, parseMetadata, type UploadConcat } from '@tessera/protocol'
import type { Request, Response } from 'express'
import { GatewayError } from '../errors.js'
import type { UploadRecord } from '../upload-record.js'
import type { TusContext } from './context.js'
import { hasUploadBody, header, integerHeader } from './request-body.js'
import { setExpires } from './upload-headers.js'
import { writeBody } from './write-body.js'

/**
 * POST: creation, creation-defer-length, creation-with-upload and concatenation (a final upload is
 * assembled from its partials' stripes without copying a byte).
 */
export async function handlePost(ctx: TusContext, req: Request, res: Response): Promise<void> {
  const metadata = header(req, 'upload-metadata', parseMetadata) ?? {}
  const concat = header(req, 'upload-concat', parseConcat)
  if (concat?.type === 'final') return createFinal(ctx, req, res, concat, metadata)

  const length = integerHeader(req, 'upload-length')
  const defer = req.get('upload-defer-length')
  if (defer !== undefined && defer !== '1') {
    throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', `Upload-Defer-Length must be 1, got ${JSON.stringify(defer)}`)
  }
  if ((length === undefined) === (defer === undefined)) {
    throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', 'exactly one of Upload-Length and Upload-Defer-Length: 1 is required')
  }
  const { maxSize } = ctx.deps.config
  if (length !== undefined && maxSize !== undefined && length > maxSize) {
    throw new GatewayError('GATEWAY_ERR_TOO_LARGE', `Upload-Length ${length} exceeds the maximum upload size ${maxSize}`)
  }

  const id = ctx.newId()
  const record: UploadRecord = {
    id,
    ...(length !== undefined && { length }),
    metadata,
    createdAt: new Date(ctx.deps.now()).toISOString(),
    expiresAt: ctx.expiresAt(),
    ...(concat && { concat }),
  }
  // Object first: a crash between the two leaves an unreferenced empty object, never a record without data.
  await ctx.deps.store.create(id)
  await ctx.deps.records.set(id, record)
  ctx.deps.log.info({ uploadId: id, length, deferred: length === undefined, partial: concat?.type === 'partial' }, 'upload created')

  res.set('Location', ctx.url(req, id))
  if (!hasUploadBody(req)) {
    setExpires(res, record, 0)
    res.status(201).end()
    return
  }
  const written = await ctx.withLock(id, req, async (stop) => writeBody(ctx, req, record, 0, stop))
  res.set('Upload-Offset', String(written.offset))
  setExpires(res, written.record, written.offset)
  res.status(201).end()
}

async function createFinal(ctx: TusContext, req: Request, res: Response, concat: Extract<UploadConcat, { type: 'final' }>, metadata: UploadRecord['metadata']): Promise<void> {
  const parts = concat.uploads.map((url) => ctx.idFromUrl(url, req))
  let total = 0
  for (const part of parts) {
    const record = await ctx.record(part).catch((err: unknown) => {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `cannot concatenate ${ctx.path(part)}: ${(err as Error).message}`, { cause: err })
    })
    if (record.concat?.type !== 'partial') {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `${ctx.path(part)} was not created with Upload-Concat: partial`)
    }
    const offset = await ctx.offset(part)
    if (record.length === undefined || offset !== record.length) {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `partial upload ${ctx.path(part)} is not finished (${offset} of ${record.length ?? 'unknown'} bytes)`)
    }
    total += record.length
  }
  const { maxSize } = ctx.deps.config
  if (maxSize !== undefined && total > maxSize) {
    throw new GatewayError('GATEWAY_ERR_TOO_LARGE', `the concatenation is ${total} bytes, more than the maximum upload size ${maxSize}`)
  }
  const id = ctx.newId()
  await ctx.deps.store.concat(id, parts)
  await ctx.deps.records.set(id, { id, length: total, metadata, createdAt: new Date(ctx.deps.now()).toISOString(), concat: { type: 'final', parts } })
  ctx.deps.log.info({ uploadId: id, parts: parts.length, length: total }, 'final upload assembled')
  res.set('Location', ctx.url(req, id))
  res.status(201).end()
}
