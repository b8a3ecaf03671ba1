import { RufhHeader, RufhProblem, formatUploadLimit, type RufhInteropVersion } from '@tessera/protocol'
import type { Response } from 'express'
import type { GatewayConfig } from '../config.js'
import type { UploadRecord } from '../upload-record.js'

/** Whether the upload is complete in the draft's sense: its length is known and every byte is in. */
export function isComplete(record: UploadRecord, offset: number): boolean {
  return record.length !== undefined && offset === record.length
}

/**
 * `Upload-Limit` of an upload: `max-size` (`--max-size`) and, while it is incomplete, the seconds
 * it has left before it expires — `max-age` (interop 7+) or `expires` (its name in interop 6).
 */
export function uploadLimit(config: GatewayConfig, version: RufhInteropVersion, record: UploadRecord | undefined, offset: number, now: number): string {
  const left = record?.expiresAt !== undefined && !isComplete(record, offset) ? (Date.parse(record.expiresAt) - now) / 1000 : undefined
  return formatUploadLimit({ 'max-size': config.maxSize, [version >= 7 ? 'max-age' : 'expires']: left })
}

/** The fields every answer about an upload carries: interop version, offset, completeness, length, limits. */
export function setDraftState(res: Response, config: GatewayConfig, version: RufhInteropVersion, record: UploadRecord, offset: number, now: number): void {
  res.set(RufhHeader.interopVersion, String(version))
  res.set('Upload-Offset', String(offset))
  res.set(RufhHeader.complete, isComplete(record, offset) ? '?1' : '?0')
  if (record.length !== undefined) res.set('Upload-Length', String(record.length))
  const limit = uploadLimit(config, version, record, offset, now)
  if (limit !== '') res.set(RufhHeader.limit, limit)
}

/**
 * A `104 (Upload Resumption Supported)` interim response with `fields`, where Node can: written on
 * the socket ahead of the final response (Node has `writeContinue` and `writeEarlyHints` but no
 * API for other 1xx codes), over HTTP/1.1 and before anything else of the response was sent.
 */
export function sendUploadResumptionSupported(res: Response, fields: Readonly<Record<string, string>>): void {
  const socket = res.socket
  if (res.headersSent || res.req.httpVersion !== '1.1' || !socket || socket.destroyed) return
  const lines = Object.entries(fields).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  socket.write(`HTTP/1.1 104 Upload Resumption Supported\r\n${lines}\r\n`)
}

/** An RFC 9457 problem answer of one of the draft's types. */
export function sendProblem(res: Response, status: number, type: keyof typeof RufhProblem, title: string, members: Readonly<Record<string, number>> = {}): void {
  res.status(status).type('application/problem+json').send(JSON.stringify({ type: RufhProblem[type], title, ...members }))
}
