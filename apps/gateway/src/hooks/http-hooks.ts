import type { UploadMetadata } from '@tessera/protocol'
import type { Logger } from '@tessera/storage'
import type { Request } from 'express'
import { ownerField, principalOf } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import type { UploadDraft, UploadEvent, UploadLifecycle, UploadProgress } from '../lifecycle/upload-lifecycle.js'
import { LruMap } from '../reconciliation/lru-map.js'
import type { UploadRecord } from '../upload-record.js'
import { hookRequestBody, type HookSubject } from './hook-request.js'
import { HOOK_RESPONSE_LIMIT_BYTES, parseHookResponse, type HookResponse } from './hook-response.js'
import type { HookType, HooksConfig } from './hooks-config.js'

/** `post-receive` is sent at most this often per upload, ms (tusd's `-progress-hooks-interval` default). */
export const POST_RECEIVE_INTERVAL_MS = 1000
/** Uploads whose last `post-receive` time is remembered (least recently written forgotten first). */
const THROTTLED_UPLOADS = 10_000
/** How one hook request went: answered (`ok`), answered with a rejection (`rejected`, pre-create), or `failed`. */
export type HookOutcome = 'ok' | 'rejected' | 'failed'

/** Told of every hook request once it is over (the metrics count them). */
export type HookObserver = (hook: HookType, outcome: HookOutcome, seconds: number) => void

/** tusd's answer to a rejected creation when the hook names no status or body. */
const DEFAULT_REJECTION = { status: 400, body: 'upload creation has been rejected by server' }

/**
 * HTTP hooks as tusd sends them (docs/hooks.md): a JSON POST of `{ Type, Event: { Upload,
 * HTTPRequest } }` to `--hooks-url` per lifecycle event. `pre-create` is a creation gate: its answer
 * may reject the upload (`RejectUpload`, with `HTTPResponse`) or replace its metadata
 * (`ChangeFileInfo.MetaData`); a hook that fails gets the client a 500. The `post-*` hooks are sent
 * without waiting and never fail an upload: a failure is logged at warn.
 */
export class HttpHooks {
  readonly #lastReceive = new LruMap<string, number>(THROTTLED_UPLOADS)

  constructor(
    readonly config: HooksConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly observe: HookObserver = () => {},
  ) {}

  /** Subscribes to `lifecycle`: the gate for `pre-create`, the listener for the rest (each only when enabled). */
  attach(lifecycle: UploadLifecycle): void {
    if (this.config.events.has('pre-create')) lifecycle.gate((draft) => this.preCreate(draft))
    lifecycle.subscribe((event) => this.#onEvent(event))
    if (this.config.events.has('post-receive')) lifecycle.onProgress((progress) => this.#onProgress(progress))
  }

  /**
   * Sends `pre-create` for `draft` and resolves the metadata to store.
   *
   * @throws GatewayError `GATEWAY_ERR_HOOK_REJECTED` with the hook's status (default 400), body and
   *   headers; `GATEWAY_ERR_HOOK_FAILED` (500) when the hook timed out, could not be reached,
   *   answered non-2xx or something that is not a hook answer.
   */
  async preCreate(draft: UploadDraft): Promise<UploadMetadata> {
    let answer: HookResponse
    try {
      const owner = ownerField(principalOf(draft.request))
      answer = await this.#send(hookRequestBody('pre-create', { id: '', length: draft.length, offset: 0, metadata: draft.metadata, concat: draft.concat, ...owner }, draft.request))
    } catch (err) {
      throw new GatewayError('GATEWAY_ERR_HOOK_FAILED', `the server's pre-create hook failed (${(err as Error).message}); no upload was created`, { cause: err })
    }
    if (answer.rejectUpload) {
      const status = answer.httpResponse.status ?? DEFAULT_REJECTION.status
      const body = answer.httpResponse.body ?? DEFAULT_REJECTION.body
      throw new GatewayError('GATEWAY_ERR_HOOK_REJECTED', `the pre-create hook rejected the upload: ${status} ${body}`, { headers: answer.httpResponse.headers, reply: { status, body } })
    }
    if (answer.changedId) this.log.warn({ hook: 'pre-create' }, 'hook asked for a custom upload id (ChangeFileInfo.ID); ignored: ids are the gateway\'s')
    return answer.metadata ?? draft.metadata
  }

  #onEvent(event: UploadEvent): void {
    const { upload } = event
    const subject = subjectOf(upload, 0)
    switch (event.type) {
      case 'created':
        return this.#notify('post-create', { ...subject, offset: event.offset }, event.request)
      case 'received':
        // A write that stored nothing is no progress.
        if (event.bytes > 0) this.#onProgress(event)
        return
      case 'finished':
        this.#lastReceive.delete(upload.id)
        return this.#notify('post-finish', { ...subject, offset: event.offset }, event.request)
      case 'terminated':
        this.#lastReceive.delete(upload.id)
        return this.#notify('post-terminate', { ...subject, reason: event.reason }, event.request)
      case 'expired':
        // tusd sends no hook when an upload expires; neither does Tessera (the metric counts it).
        this.#lastReceive.delete(upload.id)
    }
  }

  /**
   * `post-receive`, during a write (after a chunk) and after it: at most once a second per upload;
   * never for the offset that finishes it (post-finish reports that).
   */
  #onProgress({ upload, offset, request }: UploadProgress): void {
    if (upload.length !== undefined && offset >= upload.length) return
    const last = this.#lastReceive.get(upload.id)
    if (last !== undefined && this.now() - last < POST_RECEIVE_INTERVAL_MS) return
    this.#lastReceive.set(upload.id, this.now())
    this.#notify('post-receive', subjectOf(upload, offset), request)
  }

  /** Sends a `post-*` hook without waiting for it; a failure is logged, never thrown. */
  #notify(type: HookType, subject: HookSubject, request: Request | undefined): void {
    if (!this.config.events.has(type)) return
    this.#send(hookRequestBody(type, subject, request)).catch((err: unknown) => {
      this.log.warn({ hook: type, uploadId: subject.id, reason: (err as Error).message }, 'hook failed')
    })
  }

  /**
   * POSTs one hook request and reads its answer, all within `--hooks-timeout`, and tells the
   * observer how it went (a rejection only counts as one for `pre-create`, the hook it applies to).
   * @throws Error saying what went wrong (timed out, unreachable, non-2xx, a malformed answer).
   */
  async #send(body: ReturnType<typeof hookRequestBody>): Promise<HookResponse> {
    const { url, timeoutMs } = this.config
    const signal = AbortSignal.timeout(timeoutMs)
    const started = performance.now()
    const seconds = (): number => (performance.now() - started) / 1000
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal })
      // A declared length past the limit is refused unread; a chunked answer is read, within the timeout.
      const declared = Number(res.headers.get('content-length') ?? 0)
      const text = declared > HOOK_RESPONSE_LIMIT_BYTES ? (await res.body?.cancel(), '') : await res.text()
      if (res.status < 200 || res.status > 299) throw new Error(`answered ${res.status}`)
      if (Math.max(declared, Buffer.byteLength(text)) > HOOK_RESPONSE_LIMIT_BYTES) throw new Error(`answered more than ${HOOK_RESPONSE_LIMIT_BYTES} bytes`)
      const answer = parseHookResponse(text)
      this.observe(body.Type, answer.rejectUpload && body.Type === 'pre-create' ? 'rejected' : 'ok', seconds())
      return answer
    } catch (err) {
      this.observe(body.Type, 'failed', seconds())
      if (signal.aborted) throw new Error(`no answer within ${timeoutMs} ms`, { cause: err })
      if (err instanceof SyntaxError) throw new Error(`answered malformed JSON: ${err.message}`, { cause: err })
      const cause = (err as { cause?: { code?: string } }).cause
      if (err instanceof TypeError && cause?.code) throw new Error(`unreachable: ${cause.code}`, { cause: err })
      throw err
    }
  }
}

/** What a hook tells of a saved upload at `offset`. */
function subjectOf(upload: UploadRecord, offset: number): HookSubject {
  return { id: upload.id, length: upload.length, offset, metadata: upload.metadata, concat: upload.concat, attempt: upload.attempt, owner: upload.owner }
}
