import { PARTIAL_UPLOAD_CONTENT_TYPE, RufhHeader, parseMetadata } from '@tessera/protocol'
import express, { type NextFunction, type Request, type Response } from 'express'
import { sendError } from '../error-response.js'
import { GatewayError } from '../errors.js'
import type { TusContext } from '../tus/context.js'
import type { UploadRecord } from '../upload-record.js'
import { createUpload } from '../tus/create-upload.js'
import { uploadState } from '../tus/head-handler.js'
import { appendToUpload, type Declaration } from '../tus/patch-handler.js'
import { header } from '../tus/request-body.js'
import type { StoredBody } from '../tus/write-body.js'
import { type DraftFields, dispositionFilename, draftFields, hasContent, isDraftRequest } from './draft-fields.js'
import { isComplete, sendProblem, sendUploadResumptionSupported, setDraftState, uploadLimit } from './draft-responses.js'

type Handler = (ctx: TusContext, req: Request, res: Response, fields: DraftFields) => Promise<void>

/**
 * The IETF resumable-upload draft (draft-ietf-httpbis-resumable-upload, interop versions 6–8) on
 * the tus routes, for requests that carry `Upload-Draft-Interop-Version`: upload creation (POST to
 * the endpoint, the whole file in one request or a first part, with a `104` interim response that
 * names the upload), offset retrieval (HEAD), append (PATCH, `application/partial-upload`).
 * Cancellation (DELETE) and download (GET) are the tus routes' own. The same uploads, store and
 * erasure coding as tus 1.0: a draft upload can be read with a tus HEAD and vice versa. What is
 * left out and why: docs/ietf-draft.md.
 */
export function draftRoutes(ctx: TusContext): express.Router {
  const router = express.Router()
  const { basePath: base } = ctx.deps.config
  // One handler per path for every method (`all`): a router with only POST on a path would answer
  // OPTIONS itself (express's automatic Allow), before the tus OPTIONS that says what the server does.
  const route = (byMethod: Readonly<Record<string, Handler>>) => async (req: Request, res: Response, next: NextFunction) => {
    const handler = byMethod[req.method]
    if (!handler || !isDraftRequest(req)) return next()
    let fields: DraftFields | undefined
    try {
      fields = draftFields(req)
      await handler(ctx, req, res, fields)
    } catch (err) {
      answerError(res, err, req, fields)
    }
  }
  // The draft's problem documents where it names one; every other error as the tus routes answer it.
  const answerError = (res: Response, err: unknown, req: Request, fields: DraftFields | undefined): void => {
    const code = !res.headersSent && err instanceof GatewayError ? err.code : undefined
    if (code === 'GATEWAY_ERR_OFFSET_MISMATCH') {
      const expected = Number((err as GatewayError).headers['Upload-Offset'])
      res.set('Upload-Offset', String(expected))
      return sendProblem(res, 409, 'mismatchingOffset', (err as Error).message, { 'expected-offset': expected, 'provided-offset': fields?.offset ?? -1 })
    }
    if (code === 'GATEWAY_ERR_INCONSISTENT_LENGTH') return sendProblem(res, 400, 'inconsistentLength', (err as Error).message)
    if (code === 'GATEWAY_ERR_UPLOAD_COMPLETE') return sendProblem(res, 400, 'completedUpload', (err as Error).message)
    sendError(res, err, ctx.deps.log, { method: req.method, url: req.originalUrl })
  }
  router.all(base, route({ POST: create }))
  router.all(`${base}/:id`, route({ HEAD: retrieveOffset, PATCH: append }))
  return router
}

/** Upload creation: a POST with `Upload-Complete` (and its content, all or a first part). */
async function create(ctx: TusContext, req: Request, res: Response, fields: DraftFields): Promise<void> {
  if (fields.complete === undefined) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', 'Upload-Complete is required to create an upload')
  const content = hasContent(req, fields)
  // The length: Upload-Length, or the content of a request that completes the upload.
  const ending = fields.complete ? (content ? fields.contentLength : 0) : undefined
  if (ending !== undefined && fields.length !== undefined && ending !== fields.length) {
    throw new GatewayError('GATEWAY_ERR_INCONSISTENT_LENGTH', `Upload-Length ${fields.length} differs from the ${ending} bytes of content that complete the upload`)
  }
  const filename = dispositionFilename(req.get('content-disposition'))
  const type = req.get('content-type')
  const metadata = {
    ...(header(req, 'upload-metadata', parseMetadata) ?? {}),
    ...(filename !== undefined && { filename }),
    ...(type !== undefined && { filetype: type }),
  }
  const record = await createUpload(ctx, req, { length: ending ?? fields.length, metadata })
  const location = ctx.url(req, record.id)
  const limit = uploadLimit(ctx.deps.config, fields.version, record, 0, ctx.deps.now())
  sendUploadResumptionSupported(res, { Location: location, [RufhHeader.interopVersion]: String(fields.version), ...(limit !== '' && { [RufhHeader.limit]: limit }) })
  const written = content ? await appendToUpload(ctx, req, record.id, 0, () => NOTHING, completion(fields)) : { record, offset: 0 }
  res.set('Location', location)
  setDraftState(res, ctx.deps.config, fields.version, written.record, written.offset, ctx.deps.now())
  if (!req.readableEnded) res.set('Connection', 'close')
  res.status(201).end()
}

/** Offset retrieval: HEAD on the upload. */
async function retrieveOffset(ctx: TusContext, req: Request, res: Response, fields: DraftFields): Promise<void> {
  const { record, offset } = await uploadState(ctx, req, req.params['id'] as string)
  setDraftState(res, ctx.deps.config, fields.version, record, offset, ctx.deps.now())
  res.set('Cache-Control', 'no-store')
  res.status(204).end()
}

/** Append: a PATCH of `application/partial-upload` at `Upload-Offset`, with `Upload-Complete`. */
async function append(ctx: TusContext, req: Request, res: Response, fields: DraftFields): Promise<void> {
  const id = req.params['id'] as string
  const type = req.get('content-type')?.split(';')[0]!.trim().toLowerCase()
  if (type !== PARTIAL_UPLOAD_CONTENT_TYPE) {
    throw new GatewayError('GATEWAY_ERR_UNSUPPORTED_MEDIA_TYPE', `an append's Content-Type must be ${PARTIAL_UPLOAD_CONTENT_TYPE}, got ${JSON.stringify(req.get('content-type') ?? null)}`)
  }
  if (fields.offset === undefined) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', 'Upload-Offset is required')
  if (fields.complete === undefined) throw new GatewayError('GATEWAY_ERR_INVALID_HEADER', 'Upload-Complete is required')
  const claimed = fields.offset
  const written = await appendToUpload(ctx, req, id, claimed, (record, offset) => appendDeclaration(req, fields, claimed, record, offset), completion(fields))
  setDraftState(res, ctx.deps.config, fields.version, written.record, written.offset, ctx.deps.now())
  if (!req.readableEnded) res.set('Connection', 'close')
  res.status(204).end()
}

/**
 * What an append declares about the upload as it is under its lock: its length, where the request
 * says so (`Upload-Length`, or `Upload-Complete: ?1` with a `Content-Length`). Refuses (nothing is
 * stored) an append to a complete upload and content that contradicts or passes the known length.
 */
function appendDeclaration(req: Request, fields: DraftFields, claimed: number, record: UploadRecord, offset: number): Declaration {
  const { id } = record
  if (isComplete(record, offset)) {
    if (!hasContent(req, fields)) throw new GatewayError('GATEWAY_ERR_UPLOAD_COMPLETE', `upload ${id} is already complete`)
    throw new GatewayError('GATEWAY_ERR_INCONSISTENT_LENGTH', `upload ${id} is complete at ${offset} bytes; nothing can be appended`)
  }
  const ending = fields.complete && fields.contentLength !== undefined ? claimed + fields.contentLength : undefined
  const known = record.length ?? fields.length
  if (ending !== undefined && known !== undefined && ending !== known) {
    throw new GatewayError('GATEWAY_ERR_INCONSISTENT_LENGTH', `the upload's length is ${known} bytes, the ${fields.contentLength} bytes at ${claimed} that complete it make ${ending}`)
  }
  if (fields.contentLength !== undefined && known !== undefined && claimed + fields.contentLength > known) {
    throw new GatewayError('GATEWAY_ERR_INCONSISTENT_LENGTH', `${fields.contentLength} bytes at ${claimed} go past the upload's length of ${known} bytes`)
  }
  return { length: ending ?? fields.length, digest: undefined }
}

/** No declaration before the content. */
const NOTHING: Declaration = { length: undefined, digest: undefined }

/**
 * After a request's whole content: with `Upload-Complete: ?1`, the upload's length is where it
 * ended — 400 when it had declared another (the bytes stay; the upload stays incomplete).
 */
function completion(fields: DraftFields): (written: StoredBody) => Declaration {
  return ({ record, offset }) => {
    if (!fields.complete) return NOTHING
    if (record.length !== undefined && record.length !== offset) {
      throw new GatewayError('GATEWAY_ERR_INCONSISTENT_LENGTH', `Upload-Complete: ?1 at ${offset} bytes, but the upload's length is ${record.length}`)
    }
    return { length: offset, digest: undefined }
  }
}
