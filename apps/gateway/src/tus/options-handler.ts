import { CHECKSUM_ALGORITHMS, PARTIAL_UPLOAD_CONTENT_TYPE, RufhHeader, TESSERA_RECONCILIATION_HEADER, TUS_VERSION, TesseraReconciliation, formatUploadLimit, type TusExtension } from '@tessera/protocol'
import type { Request, Response } from 'express'
import type { TusContext } from './context.js'

/** Every extension the gateway implements, as advertised in `Tus-Extension`. */
const EXTENSIONS: readonly TusExtension[] = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'expiration',
  'checksum',
  'concatenation',
]

/**
 * OPTIONS: the server's capabilities. No `Tus-Resumable` needed (tus 1.0 §5.2). For clients of the
 * resumable-upload draft: `Accept-Patch` with its append media type, and `Upload-Limit`.
 */
export function handleOptions(ctx: TusContext, _req: Request, res: Response): void {
  res.set('Tus-Resumable', TUS_VERSION)
  res.set('Tus-Version', TUS_VERSION)
  res.set('Tus-Extension', EXTENSIONS.join(','))
  res.set('Tus-Checksum-Algorithm', Object.keys(CHECKSUM_ALGORITHMS).join(','))
  res.set(TESSERA_RECONCILIATION_HEADER, Object.values(TesseraReconciliation).join(', '))
  if (ctx.deps.config.maxSize !== undefined) res.set('Tus-Max-Size', String(ctx.deps.config.maxSize))
  res.set('Accept-Patch', PARTIAL_UPLOAD_CONTENT_TYPE)
  const limit = formatUploadLimit({ 'max-size': ctx.deps.config.maxSize })
  if (limit !== '') res.set(RufhHeader.limit, limit)
  res.status(204).end()
}
