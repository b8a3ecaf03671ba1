import {
  PATCH_CONTENT_TYPE,
  STATUS_CHECKSUM_MISMATCH,
  TESSERA_ERROR_HEADER,
  TESSERA_RECONCILIATION_HEADER,
  TESSERA_SHA256_HEADER,
  TESSERA_WINNER_HEADER,
  TUS_VERSION,
  TesseraReconciliation,
  TusHeader,
  formatConcat,
  formatMetadata,
  parseMetadata,
  parseNonNegativeInteger,
  type UploadMetadata,
} from '@tessera/protocol'
import type { BearerToken } from './bearer-token.js'
import { ClientError } from './errors.js'
import type { HttpRequest, HttpResponse, HttpTransport } from './ports.js'

/** What an endpoint's OPTIONS told. */
export interface ServerCapabilities {
  readonly extensions: readonly string[]
  readonly checksumAlgorithms: readonly string[]
  /** `Tus-Max-Size`, bytes. */
  readonly maxSize: number | undefined
  /** Partials + final concatenation are possible. */
  readonly concatenation: boolean
  /** `Upload-Checksum: sha256` is understood. */
  readonly sha256: boolean
  readonly deferLength: boolean
  readonly termination: boolean
  /**
   * The server verifies an attempt's `tessera-sha256` when it completes (`Tessera-Reconciliation:
   * sha256`, a Tessera gateway): its PATCHes need no `Upload-Checksum` of their own.
   */
  readonly reconciliation: boolean
  /** The server checks a final's `tessera-partitions-sha256` (`Tessera-Reconciliation: …, partitions`). */
  readonly partitionList: boolean
  /** A PATCH may declare a deferred length (and `Tessera-Sha256`) in trailers (`Tessera-Reconciliation: …, length-trailer`). */
  readonly lengthTrailer: boolean
}

/** How to create an upload. */
export interface CreateRequest {
  /** `Upload-Length`; undefined sends `Upload-Defer-Length: 1`. */
  readonly length: number | undefined
  readonly metadata: UploadMetadata
  readonly concat?: { readonly type: 'partial' } | { readonly type: 'final'; readonly uploads: readonly string[] }
}

/** What a HEAD told about an upload. */
export interface UploadHead {
  /** `Upload-Offset`, bytes. */
  readonly offset: number
  /** `Upload-Length`, bytes; undefined while deferred. */
  readonly length: number | undefined
  /** `Upload-Metadata`; undefined when absent or not parsable. */
  readonly metadata: UploadMetadata | undefined
}

/** A body of known length read as the socket drains (never held whole in memory). */
export interface StreamedBody {
  readonly length: number
  /** Yields exactly `length` bytes, or throws. */
  readonly stream: Iterable<Uint8Array> | AsyncIterable<Uint8Array>
  /** The same bytes as a slice of the source's Blob, where it is one (see `HttpRequest.blob`). */
  readonly blob?: Blob
}

/** A PATCH. */
export interface PatchRequest {
  readonly offset: number
  readonly body: Uint8Array | StreamedBody
  /** base64 SHA-256 of `body` (a buffer), sent as `Upload-Checksum` when given. */
  readonly sha256Base64?: string
  /** Declares the length of a deferred-length upload with this PATCH. */
  readonly uploadLength?: number
  /**
   * With `uploadLength` on a deferred Tessera attempt: base64 SHA-256 of its full bytes, sent as
   * `Tessera-Sha256`. In trailers it may be a function, called after the body's last byte (the
   * digest of a body hashed as it is sent).
   */
  readonly tesseraSha256?: string | (() => string)
  /**
   * Sends `uploadLength` and `tesseraSha256` as trailers, after the body (chunked, no
   * `Content-Length`): they take effect only if the whole body arrived. Needs the server's
   * `length-trailer` and a transport with `sendsTrailers`.
   */
  readonly declareInTrailers?: boolean
  readonly onProgress?: (bytesSent: number) => void
  /** Aborts this request alone (besides the client's own signal). */
  readonly signal?: AbortSignal
}

const PROGRESS_SLICE = 64 * 1024

/**
 * The tus 1.0 requests the client makes, over an {@link HttpTransport}. Turns answers into values
 * and statuses into {@link ClientError}s: 409 → `CLIENT_ERR_OFFSET_MISMATCH`, 460 →
 * `CLIENT_ERR_CHECKSUM_MISMATCH`, 401 → `CLIENT_ERR_UNAUTHORIZED`, any other unexpected status →
 * `CLIENT_ERR_SERVER_REJECTED` (with `status` and the gateway's `wireCode`).
 */
export class TusClient {
  constructor(
    private readonly transport: HttpTransport,
    private readonly options: {
      readonly headers: Readonly<Record<string, string>>
      readonly stallTimeoutMs: number
      readonly signal: () => AbortSignal
      /** Sent as `Authorization: Bearer …` on every request, refreshed once on a 401 (see {@link TusClient.#send}). */
      readonly token?: BearerToken
    },
  ) {}

  /** OPTIONS: the server's extensions, checksum algorithms and maximum size. */
  async capabilities(endpoint: string, signal?: AbortSignal): Promise<ServerCapabilities> {
    const res = await this.#send({ method: 'OPTIONS', url: endpoint, headers: {} }, signal)
    if (res.status !== 200 && res.status !== 204) throw rejected('OPTIONS', endpoint, res)
    if (res.headers[TusHeader.resumable] === undefined && res.headers[TusHeader.version] === undefined) {
      throw new ClientError('CLIENT_ERR_UNSUPPORTED_SERVER', `OPTIONS ${endpoint} answered without Tus-Resumable or Tus-Version: not a tus server`, { status: res.status })
    }
    const list = (name: string): string[] =>
      (res.headers[name] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    const extensions = list(TusHeader.extension)
    const checksumAlgorithms = list(TusHeader.checksumAlgorithm)
    const max = res.headers[TusHeader.maxSize]
    if (!extensions.includes('creation')) {
      throw new ClientError('CLIENT_ERR_UNSUPPORTED_SERVER', `${endpoint} does not support the tus creation extension (Tus-Extension: ${extensions.join(',') || 'none'})`)
    }
    return {
      extensions,
      checksumAlgorithms,
      maxSize: max === undefined ? undefined : integer(TusHeader.maxSize, max),
      concatenation: extensions.includes('concatenation'),
      sha256: extensions.includes('checksum') && checksumAlgorithms.includes('sha256'),
      deferLength: extensions.includes('creation-defer-length'),
      termination: extensions.includes('termination'),
      reconciliation: list(TESSERA_RECONCILIATION_HEADER).includes(TesseraReconciliation.sha256),
      partitionList: list(TESSERA_RECONCILIATION_HEADER).includes(TesseraReconciliation.partitions),
      lengthTrailer: list(TESSERA_RECONCILIATION_HEADER).includes(TesseraReconciliation.lengthTrailer),
    }
  }

  /** POST: creates an upload; resolves its absolute URL. */
  async create(endpoint: string, req: CreateRequest, signal?: AbortSignal): Promise<string> {
    const headers: Record<string, string> = {}
    if (req.concat?.type !== 'final') {
      if (req.length === undefined) headers[TusHeader.uploadDeferLength] = '1'
      else headers[TusHeader.uploadLength] = String(req.length)
    }
    if (Object.keys(req.metadata).length > 0) headers[TusHeader.uploadMetadata] = formatMetadata(req.metadata)
    if (req.concat) headers[TusHeader.uploadConcat] = formatConcat(req.concat)
    const res = await this.#send({ method: 'POST', url: endpoint, headers }, signal)
    if (res.status !== 201) throw rejected('POST', endpoint, res)
    const location = res.headers[TusHeader.location]
    if (!location) throw new ClientError('CLIENT_ERR_SERVER_REJECTED', `POST ${endpoint} answered 201 without Location`, { status: res.status })
    return new URL(location, endpoint).href
  }

  /**
   * HEAD: the upload's offset and length (undefined while deferred), and its `Upload-Metadata`
   * (undefined when the server sent none or an unparsable one).
   */
  async head(url: string, signal?: AbortSignal): Promise<UploadHead> {
    const res = await this.#send({ method: 'HEAD', url, headers: {} }, signal)
    if (res.status !== 200 && res.status !== 204) throw rejected('HEAD', url, res)
    const offset = res.headers[TusHeader.uploadOffset]
    if (offset === undefined) throw new ClientError('CLIENT_ERR_SERVER_REJECTED', `HEAD ${url} answered without Upload-Offset`, { status: res.status })
    const length = res.headers[TusHeader.uploadLength]
    return {
      offset: integer(TusHeader.uploadOffset, offset),
      length: length === undefined ? undefined : integer(TusHeader.uploadLength, length),
      metadata: metadataOf(res.headers[TusHeader.uploadMetadata]),
    }
  }

  /**
   * PATCH: appends `body` at `offset`; resolves the new offset, which must be `offset + body.length`.
   * @throws ClientError `CLIENT_ERR_OFFSET_MISMATCH` (409, or an answer with another offset).
   */
  async patch(url: string, req: PatchRequest): Promise<number> {
    const headers: Record<string, string> = { 'content-type': PATCH_CONTENT_TYPE, [TusHeader.uploadOffset]: String(req.offset) }
    if (req.sha256Base64 !== undefined) headers[TusHeader.uploadChecksum] = `sha256 ${req.sha256Base64}`
    const declared: Record<string, string> = {}
    if (req.uploadLength !== undefined) declared[TusHeader.uploadLength] = String(req.uploadLength)
    const late = typeof req.tesseraSha256 === 'function' ? req.tesseraSha256 : undefined
    if (typeof req.tesseraSha256 === 'string') declared[TESSERA_SHA256_HEADER] = req.tesseraSha256
    const names = [...Object.keys(declared), ...(late ? [TESSERA_SHA256_HEADER] : [])]
    const inTrailers = req.declareInTrailers === true && names.length > 0
    if (late && !inTrailers) throw new ClientError('CLIENT_ERR_INVALID_OPTION', `PATCH ${url}: a Tessera-Sha256 computed after the body goes only in trailers`)
    const trailers = !inTrailers ? undefined : late ? () => ({ ...declared, [TESSERA_SHA256_HEADER]: late() }) : declared
    if (trailers) headers['trailer'] = names.join(', ')
    else Object.assign(headers, declared, { 'content-length': String(req.body.length) })
    const body = req.body instanceof Uint8Array ? slices([req.body]) : slices(req.body.stream)
    const blob = req.body instanceof Uint8Array ? undefined : req.body.blob
    const res = await this.#send({ method: 'PATCH', url, headers, body, ...(blob && { blob }), ...(trailers && { trailers }), ...(req.onProgress && { onUploadProgress: req.onProgress }) }, req.signal)
    if (res.status !== 204 && res.status !== 200) throw rejected('PATCH', url, res)
    const raw = res.headers[TusHeader.uploadOffset]
    const next = raw === undefined ? undefined : integer(TusHeader.uploadOffset, raw)
    if (next !== req.offset + req.body.length) {
      throw new ClientError('CLIENT_ERR_OFFSET_MISMATCH', `PATCH ${url} of ${req.body.length} bytes at ${req.offset} answered Upload-Offset ${raw ?? 'missing'}`, { status: res.status })
    }
    return next
  }

  /** DELETE (termination). Resolves false when the server does not have it any more. */
  async terminate(url: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.#send({ method: 'DELETE', url, headers: {} }, signal)
    if (res.status === 204 || res.status === 200) return true
    if (res.status === 404 || res.status === 410) return false
    throw rejected('DELETE', url, res)
  }

  /**
   * Sends `req` with the client's headers and, with a token, `Authorization: Bearer`. A 401 gets
   * one fresh token and one retry; a request with a body cannot be repeated (its body is spent), so
   * a refused PATCH throws `CLIENT_ERR_TOKEN_REFRESHED` instead and its attempt resumes from the
   * server's offset. A 401 to the retry is the caller's to turn into `CLIENT_ERR_UNAUTHORIZED`.
   */
  async #send(req: Omit<HttpRequest, 'stallTimeoutMs' | 'signal'>, signal?: AbortSignal): Promise<HttpResponse> {
    const { token } = this.options
    if (!token) return this.#request(req, undefined, signal)
    const used = token.current()
    const res = await this.#request(req, await used, signal)
    if (res.status !== 401) return res
    const fresh = await token.refresh(used)
    if (req.body !== undefined) {
      throw new ClientError('CLIENT_ERR_TOKEN_REFRESHED', `${req.method} ${req.url} was refused (401) and the token refreshed; resuming from the server's offset`, { status: 401 })
    }
    return this.#request(req, fresh, signal)
  }

  #request(req: Omit<HttpRequest, 'stallTimeoutMs' | 'signal'>, token: string | undefined, signal?: AbortSignal): Promise<HttpResponse> {
    const own = this.options.signal()
    const headers: Record<string, string> = { ...this.options.headers, [TusHeader.resumable]: TUS_VERSION, ...req.headers }
    if (token !== undefined) {
      // The token wins over a static Authorization of `headers`, in whatever case it was given.
      for (const name of Object.keys(headers)) if (name.toLowerCase() === 'authorization') delete headers[name]
      headers['authorization'] = `Bearer ${token}`
    }
    return this.transport.request({
      ...req,
      headers,
      stallTimeoutMs: this.options.stallTimeoutMs,
      signal: signal ? AbortSignal.any([own, signal]) : own,
    })
  }
}

/** Yields the pieces of `body` in slices (views, no copy) so the transport reports progress and honours backpressure per slice. */
async function* slices(body: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const piece of body) {
    for (let i = 0; i < piece.length; i += PROGRESS_SLICE) yield piece.subarray(i, Math.min(piece.length, i + PROGRESS_SLICE))
  }
}

function integer(name: string, value: string): number {
  try {
    return parseNonNegativeInteger(name, value)
  } catch (err) {
    throw new ClientError('CLIENT_ERR_SERVER_REJECTED', `the server sent an invalid ${name}: ${JSON.stringify(value)}`, { cause: err })
  }
}

function metadataOf(header: string | undefined): UploadMetadata | undefined {
  if (header === undefined) return undefined
  try {
    return parseMetadata(header)
  } catch {
    return undefined
  }
}

/** The error for an unexpected status. */
function rejected(method: string, url: string, res: HttpResponse): ClientError {
  const wireCode = res.headers[TESSERA_ERROR_HEADER]
  const text = res.body.trim().slice(0, 300)
  const message = `${method} ${url} answered ${res.status}${wireCode ? ` ${wireCode}` : ''}${text ? `: ${text}` : ''}`
  const winner = res.headers[TESSERA_WINNER_HEADER]
  const options = { status: res.status, ...(wireCode !== undefined && { wireCode }), ...(winner !== undefined && { winner }) }
  if (res.status === 409) return new ClientError('CLIENT_ERR_OFFSET_MISMATCH', message, options)
  if (res.status === 401) return new ClientError('CLIENT_ERR_UNAUTHORIZED', message, options)
  if (res.status === STATUS_CHECKSUM_MISMATCH) return new ClientError('CLIENT_ERR_CHECKSUM_MISMATCH', message, options)
  return new ClientError('CLIENT_ERR_SERVER_REJECTED', message, options)
}
