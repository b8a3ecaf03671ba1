import { TesseraMetadataKey, parseConcat, parseMetadata, type UploadConcat } from '@tessera/protocol'
import type { Request, Response } from 'express'
import { mayAccess, ownerField, principalOf } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import { sha256FromMetadata } from '../reconciliation/attempt-metadata.js'
import { checkCoverage, partitionListSha256, type FinalPart } from '../reconciliation/final-check.js'
import type { UploadRecord } from '../upload-record.js'
import type { TusContext } from './context.js'
import { createUpload } from './create-upload.js'
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
  const record = await createUpload(ctx, req, { length, metadata, ...(concat && { concat }) })
  const { id } = record

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
  const expectedSha256 = sha256FromMetadata(metadata)
  const expectedList = sha256FromMetadata(metadata, TesseraMetadataKey.partitionsSha256)
  const named = concat.uploads.map((url) => ctx.idFromUrl(url, req))
  const who = principalOf(req)
  const parts: FinalPart[] = []
  for (const name of named) {
    // Any attempt of a Tessera partition — a loser too, even once gone — stands for its winner.
    // Another owner's upload is no upload at all here: the answer is the unknown partial's.
    const found = await ctx.deps.records.get(name)
    const stored = found && mayAccess(who, found) ? found : undefined
    const part = stored?.attempt ? await ctx.reconciler.winnerOf(stored, req) : name
    // A plain partial is the record just read; a winner is read afresh (deciding it may have written).
    const record = await (stored?.attempt ? ctx.record(part, who) : ctx.live(part, stored, who)).catch((err: unknown) => {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `cannot concatenate ${ctx.path(part)}: ${(err as Error).message}`, { cause: err })
    })
    if (record.concat?.type !== 'partial') {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `${ctx.path(part)} was not created with Upload-Concat: partial`)
    }
    const offset = await ctx.offset(part)
    if (record.length === undefined || offset !== record.length) {
      throw new GatewayError('GATEWAY_ERR_INVALID_CONCAT', `partial upload ${ctx.path(part)} is not finished (${offset} of ${record.length ?? 'unknown'} bytes)`)
    }
    parts.push({ record, length: record.length })
  }
  const reconciled = parts.some((p) => p.record.attempt !== undefined)
  if (reconciled) checkCoverage(parts, (id) => ctx.path(id))
  const total = parts.reduce((sum, p) => sum + p.length, 0)
  const { maxSize } = ctx.deps.config
  if (maxSize !== undefined && total > maxSize) {
    throw new GatewayError('GATEWAY_ERR_TOO_LARGE', `the concatenation is ${total} bytes, more than the maximum upload size ${maxSize}`)
  }
  const ids = parts.map((p) => p.record.id)
  const accepted = await ctx.lifecycle.beforeCreate({ length: total, metadata, concat: { type: 'final', parts: ids }, request: req })
  const id = ctx.newId()
  // The digests the final asks to be checked against, cheapest first: the partition list needs no read.
  const checks: FinalDigestCheck[] = []
  if (expectedList !== undefined) {
    checks.push({
      expected: expectedList,
      reason: 'partition-list SHA-256 mismatch',
      message: `the partitions of the concatenation do not match its ${TesseraMetadataKey.partitionsSha256}; no final upload was created`,
      digest: async () => ({ sha256: partitionListSha256(parts, (id) => ctx.path(id)), read: false }),
    })
  }
  if (expectedSha256 !== undefined) {
    checks.push({
      expected: expectedSha256,
      reason: 'whole-file SHA-256 mismatch',
      message: `the ${total} bytes of the concatenation do not match its ${TesseraMetadataKey.sha256}; no final upload was created`,
      digest: () => whileConnected(res, (signal) => ctx.reconciler.finalSha256(parts, signal)),
    })
  }
  let verifyMs: number | undefined
  let verifyRead: boolean | undefined
  for (const check of checks) {
    const started = performance.now()
    const actual = await check.digest()
    verifyMs = Math.round(performance.now() - started)
    verifyRead = actual.read
    if (actual.sha256 !== check.expected) {
      await ctx.reconciler.finalEvent({ event: 'final-rejected', uploadId: id, bytes: total, parts: ids, verifyMs, verifyRead, reason: check.reason })
      throw new GatewayError('GATEWAY_ERR_CHECKSUM_MISMATCH', check.message)
    }
  }
  await ctx.deps.store.concat(id, ids)
  const final: UploadRecord = { id, length: total, metadata: accepted, createdAt: new Date(ctx.deps.now()).toISOString(), concat: { type: 'final', parts: ids }, ...ownerField(who) }
  await ctx.deps.records.set(id, final)
  ctx.deps.log.info({ uploadId: id, parts: ids.length, length: total, verifyMs, verifyRead }, 'final upload assembled')
  ctx.lifecycle.emit({ type: 'created', upload: final, offset: total })
  ctx.lifecycle.emit({ type: 'finished', upload: final, offset: total })
  if (reconciled || verifyMs !== undefined) {
    await ctx.reconciler.finalEvent({ event: verifyMs !== undefined ? 'final-verified' : 'final-created', uploadId: id, bytes: total, parts: ids, ...(verifyMs !== undefined && { verifyMs, verifyRead }) })
  }
  res.set('Location', ctx.url(req, id))
  res.status(201).end()
}

/** One digest a final is checked against before it is created (460 when it does not match). */
interface FinalDigestCheck {
  readonly expected: string
  /** The `final-rejected` event's reason. */
  readonly reason: string
  /** The 460's message. */
  readonly message: string
  /** The actual digest, base64, and whether the store was read for it. */
  digest(): Promise<{ readonly sha256: string; readonly read: boolean }>
}

/** Runs `fn` with a signal that aborts when the client goes away before the answer. */
async function whileConnected<T>(res: Response, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const gone = new AbortController()
  const onClose = (): void => gone.abort(new Error('client went away'))
  res.once('close', onClose)
  try {
    return await fn(gone.signal)
  } finally {
    res.off('close', onClose)
  }
}
