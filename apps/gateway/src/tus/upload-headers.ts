import { formatMetadata } from '@tessera/protocol'
import type { Response } from 'express'
import type { UploadRecord } from '../upload-record.js'
import type { TusContext } from './context.js'

/** `Upload-Expires` for an unfinished upload (RFC 9110 date), nothing once finished. */
export function setExpires(res: Response, record: UploadRecord, offset: number): void {
  const finished = record.length !== undefined && offset === record.length
  if (!finished && record.expiresAt) res.set('Upload-Expires', new Date(record.expiresAt).toUTCString())
}

/** The headers HEAD answers with: offset, length (or deferred), metadata, concatenation, expiry. */
export function setUploadHeaders(ctx: TusContext, res: Response, record: UploadRecord, offset: number): void {
  res.set('Upload-Offset', String(offset))
  if (record.length === undefined) res.set('Upload-Defer-Length', '1')
  else res.set('Upload-Length', String(record.length))
  const metadata = formatMetadata(record.metadata)
  if (metadata !== '') res.set('Upload-Metadata', metadata)
  if (record.concat?.type === 'partial') res.set('Upload-Concat', 'partial')
  if (record.concat?.type === 'final') res.set('Upload-Concat', `final;${record.concat.parts.map((p) => ctx.path(p)).join(' ')}`)
  setExpires(res, record, offset)
}
