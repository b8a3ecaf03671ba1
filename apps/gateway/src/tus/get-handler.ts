import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Request, Response } from 'express'
import { principalOf } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import type { UploadRecord } from '../upload-record.js'
import { parseRange } from './byte-range.js'
import type { TusContext } from './context.js'

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i
// Types a browser may render in place; anything else is served as an attachment (no stored XSS).
const INLINE = /^(image\/(png|jpeg|gif|webp|avif)|video\/[a-z0-9.+-]+|audio\/[a-z0-9.+-]+|application\/pdf)$/i

/**
 * GET: streams a finished upload, whole or a single `Range`, from any k verified blocks per
 * stripe. Not part of tus; served by the gateway's own route (see docs/protocol-core.md for why
 * not @tus/server's). The first stripe is read before the status line, so an upload that lost more
 * than m blocks of it answers 503 cleanly; a loss further on aborts the response, which the
 * client sees as a short body against `Content-Length` — never as wrong bytes.
 */
export async function handleGet(ctx: TusContext, req: Request, res: Response): Promise<void> {
  const id = req.params['id'] as string
  const record = await ctx.record(id, principalOf(req))
  const offset = await ctx.offset(id)
  if (record.length === undefined || offset !== record.length) {
    throw new GatewayError('GATEWAY_ERR_NOT_FINISHED', `upload ${id} is not finished (${offset} of ${record.length ?? 'unknown'} bytes)`)
  }
  const length = record.length
  const range = parseRange(req.get('range'), length)
  if (range === 'unsatisfiable') {
    throw new GatewayError('GATEWAY_ERR_RANGE_NOT_SATISFIABLE', `Range ${req.get('range')} is outside the upload's ${length} bytes`, {
      headers: { 'Content-Range': `bytes */${length}` },
    })
  }
  const start = range?.start ?? 0
  const end = range?.end ?? length

  const gone = new AbortController()
  res.once('close', () => gone.abort())
  const onPlan = ctx.deps.reads?.planListener(req, id)
  const stream = await ctx.deps.store.read(id, { start, end, signal: gone.signal, echoes: true, ...(ctx.deps.onFault && { onFault: ctx.deps.onFault }), ...(onPlan && { onPlan }) })
  const first = await stream.next()

  res.status(range ? 206 : 200)
  res.set('Accept-Ranges', 'bytes')
  res.set('Content-Length', String(end - start))
  if (range) res.set('Content-Range', `bytes ${start}-${end - 1}/${length}`)
  setContentHeaders(res, record)
  if (first.done) {
    res.end()
    return
  }
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield first.value as Uint8Array
    yield* stream
  }
  try {
    await pipeline(Readable.from(rest(), { objectMode: false }), res)
  } catch (err) {
    if (!gone.signal.aborted) ctx.deps.log.error({ uploadId: id, start, end, err }, 'download aborted by a storage failure')
    res.destroy()
  }
}

function setContentHeaders(res: Response, record: UploadRecord): void {
  const declared = record.metadata['filetype'] ?? record.metadata['contentType'] ?? ''
  const type = MIME.test(declared) ? declared : 'application/octet-stream'
  res.set('Content-Type', type)
  res.set('X-Content-Type-Options', 'nosniff')
  const name = record.metadata['filename'] ?? record.metadata['name']
  const disposition = INLINE.test(type) ? 'inline' : 'attachment'
  res.set('Content-Disposition', name ? `${disposition}; filename*=UTF-8''${encodeURIComponent(name)}` : disposition)
}
