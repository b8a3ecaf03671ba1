import type { HttpRequest, HttpResponse, HttpTransport } from '../ports.js'
import { MAX_ERROR_BODY, aborted, requestFailure, stallError } from '../request-failure.js'
import { StallTimer } from '../stall-timer.js'
import { requestBody, sendableHeaders } from './browser-request.js'

/** Options of {@link FetchTransport}. */
export interface FetchTransportOptions {
  /** The fetch to use. Default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch
  /**
   * While a request body is being sent, fetch reports no progress; the stall timer then allows
   * `stallTimeoutMs` plus the body's size at this rate before it fires, bytes/s. Default 32768.
   */
  readonly minBodyBytesPerSecond?: number
}

/**
 * The browser {@link HttpTransport} on `fetch`: the default where there is no XMLHttpRequest (a
 * worker, a service worker); elsewhere `XhrTransport` is, for its upload progress. Streaming request
 * bodies are not available everywhere (Chromium only over HTTP/2, with `duplex: 'half'`), so each
 * PATCH body is sent whole as one Blob — the source File's own slice where there is one
 * (`HttpRequest.blob`: read from disk by the browser, not copied through the page), else gathered
 * from the body's pieces: upload progress is reported when the body has been sent (the response
 * head arrived), not per byte, and the stall timer covers the body's send time at
 * `minBodyBytesPerSecond`. The response head and every response byte re-arm it as in Node.
 *
 * fetch tells a refused connection from a broken one by nothing but a `TypeError`: a failure of a
 * request without a body is reported as `CLIENT_ERR_UNREACHABLE`, with a body as
 * `CLIENT_ERR_NETWORK` (both retried).
 */
export class FetchTransport implements HttpTransport {
  readonly #fetch: typeof globalThis.fetch
  readonly #minRate: number

  constructor(options: FetchTransportOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.#minRate = options.minBodyBytesPerSecond ?? 32 * 1024
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    if (req.signal?.aborted) throw aborted(req)
    const controller = new AbortController()
    const timer = new StallTimer(req.stallTimeoutMs, () => controller.abort(stallError(req)))
    const onAbort = (): void => controller.abort(req.signal?.reason)
    req.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const body = await requestBody(req)
      timer.arm(body ? Math.ceil((body.size * 1000) / this.#minRate) : 0)
      const res = await this.#fetch(req.url, {
        method: req.method,
        headers: sendableHeaders(req),
        ...(body && { body }),
        signal: controller.signal,
        cache: 'no-store',
        redirect: 'follow',
      })
      if (body) req.onUploadProgress?.(body.size)
      timer.arm()
      let text = ''
      if (res.body) {
        const reader = res.body.getReader()
        const decoder = new TextDecoder()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          timer.arm()
          if (text.length < MAX_ERROR_BODY) text += decoder.decode(value, { stream: true })
        }
      }
      const out: Record<string, string> = {}
      res.headers.forEach((value, name) => (out[name.toLowerCase()] = value))
      return { status: res.status, headers: out, body: text.slice(0, MAX_ERROR_BODY) }
    } catch (err) {
      // fetch tells nothing of where a request failed: one with a body may have reached the server.
      throw requestFailure(req, err, { stalled: timer.stalled, reached: req.body !== undefined })
    } finally {
      timer.clear()
      req.signal?.removeEventListener('abort', onAbort)
    }
  }

  /** fetch keeps no pool of ours to close. */
  async close(): Promise<void> {}
}
