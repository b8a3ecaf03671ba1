import { TESSERA_ERROR_HEADER, TESSERA_RECONCILIATION_HEADER, TESSERA_SHA256_HEADER, TESSERA_WINNER_HEADER } from '@tessera/protocol'
import type { NextFunction, Request, Response } from 'express'

const ALLOW_HEADERS = [
  'Authorization', 'Content-Type', 'Location', 'Tus-Extension', 'Tus-Max-Size', 'Tus-Resumable', 'Tus-Version',
  'Upload-Concat', 'Upload-Defer-Length', 'Upload-Length', 'Upload-Metadata', 'Upload-Offset', 'Upload-Checksum',
  'X-HTTP-Method-Override', 'X-Requested-With', 'Range', TESSERA_SHA256_HEADER,
].join(', ')

const EXPOSE_HEADERS = [
  'Location', 'Tus-Checksum-Algorithm', 'Tus-Extension', 'Tus-Max-Size', 'Tus-Resumable', 'Tus-Version',
  'Upload-Concat', 'Upload-Defer-Length', 'Upload-Expires', 'Upload-Length', 'Upload-Metadata', 'Upload-Offset',
  TESSERA_ERROR_HEADER, TESSERA_WINNER_HEADER, TESSERA_RECONCILIATION_HEADER, 'Content-Range', 'Accept-Ranges', 'Content-Disposition',
].join(', ')

/** CORS for browser clients: any origin, the tus request headers allowed, the tus response headers exposed. */
export function cors(req: Request, res: Response, next: NextFunction): void {
  const origin = req.get('origin')
  if (origin === undefined) return next()
  res.set('Access-Control-Allow-Origin', origin)
  res.set('Vary', 'Origin')
  res.set('Access-Control-Expose-Headers', EXPOSE_HEADERS)
  if (req.method === 'OPTIONS' && req.get('access-control-request-method')) {
    res.set('Access-Control-Allow-Methods', 'POST, GET, HEAD, PATCH, DELETE, OPTIONS')
    res.set('Access-Control-Allow-Headers', ALLOW_HEADERS)
    res.set('Access-Control-Max-Age', '86400')
  }
  next()
}
