import type { UploadMetadata } from '@tessera/protocol'
import type { Request } from 'express'
import type { UploadRecord } from '../upload-record.js'
import type { HookType } from './hooks-config.js'

/** `Event.Upload` of a hook request: tusd's `FileInfo` fields, plus Tessera's own (ignored by tusd receivers). */
export interface HookUpload {
  /** Empty in `pre-create` (no id yet), as tusd. */
  readonly ID: string
  /** Bytes; 0 while deferred. */
  readonly Size: number
  readonly SizeIsDeferred: boolean
  readonly Offset: number
  /** Decoded `Upload-Metadata`; a key sent without a value is `""` (tusd's map of strings). */
  readonly MetaData: Readonly<Record<string, string>>
  readonly IsPartial: boolean
  readonly IsFinal: boolean
  /** A final's partials (ids, in order), else null. */
  readonly PartialUploads: readonly string[] | null
  /** Always null: Tessera's blocks live on many backends, not at one path. */
  readonly Storage: null
  /**
   * Tessera's own, for receivers that know it: the upload's owner under `--auth jwt` (the token's
   * `sub`), the hedged attempt an upload is (its partition and attempt number), and for
   * `post-terminate` why it went (`terminated`, `superseded`, `rejected`).
   */
  readonly Tessera?: { readonly Owner?: string; readonly Partition?: string; readonly Attempt?: number; readonly Reason?: string }
}

/** `Event.HTTPRequest` of a hook request: the client's request that caused it. */
export interface HookHttpRequest {
  readonly Method: string
  readonly URI: string
  readonly RemoteAddr: string
  /** Every header, names canonicalised as Go does (`Upload-Length`), values as lists. */
  readonly Header: Readonly<Record<string, readonly string[]>>
}

/** The JSON body of an HTTP hook request, in tusd's shape (`hooks.HookRequest`). */
export interface HookRequestBody {
  readonly Type: HookType
  readonly Event: { readonly Upload: HookUpload; readonly HTTPRequest: HookHttpRequest }
}

/** What is known of an upload when a hook is sent: a saved record, or a draft before `pre-create`. */
export interface HookSubject {
  readonly id: string
  readonly length: number | undefined
  readonly offset: number
  readonly metadata: UploadMetadata
  readonly concat?: UploadRecord['concat'] | undefined
  readonly attempt?: UploadRecord['attempt'] | undefined
  readonly owner?: string | undefined
  readonly reason?: string | undefined
}

/** The hook request body of `type` about `subject`, caused by `request` (absent: a background removal, e.g. reconciliation after the response). */
export function hookRequestBody(type: HookType, subject: HookSubject, request: Request | undefined): HookRequestBody {
  const tessera = {
    ...(subject.owner !== undefined && { Owner: subject.owner }),
    ...(subject.attempt && { Partition: subject.attempt.partition, Attempt: subject.attempt.attempt }),
    ...(subject.reason !== undefined && { Reason: subject.reason }),
  }
  const upload: HookUpload = {
    ID: subject.id,
    Size: subject.length ?? 0,
    SizeIsDeferred: subject.length === undefined,
    Offset: subject.offset,
    MetaData: Object.fromEntries(Object.entries(subject.metadata).map(([k, v]) => [k, v ?? ''])),
    IsPartial: subject.concat?.type === 'partial',
    IsFinal: subject.concat?.type === 'final',
    PartialUploads: subject.concat?.type === 'final' ? subject.concat.parts : null,
    Storage: null,
    ...(Object.keys(tessera).length > 0 && { Tessera: tessera }),
  }
  return { Type: type, Event: { Upload: upload, HTTPRequest: httpRequestOf(request) } }
}

function httpRequestOf(req: Request | undefined): HookHttpRequest {
  if (!req) return { Method: '', URI: '', RemoteAddr: '', Header: {} }
  const header: Record<string, string[]> = {}
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) (header[canonical(raw[i]!)] ??= []).push(raw[i + 1]!)
  const address = req.socket.remoteAddress ?? ''
  return {
    Method: req.method,
    URI: req.originalUrl,
    RemoteAddr: `${address.includes(':') ? `[${address}]` : address}:${req.socket.remotePort ?? 0}`,
    Header: header,
  }
}

/** `content-type` → `Content-Type`, as Go's `http.CanonicalHeaderKey`. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())
}
