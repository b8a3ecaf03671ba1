import type { HttpRequest, HttpResponse, HttpTransport } from '../ports.js'
import { MAX_ERROR_BODY, aborted, requestFailure } from '../request-failure.js'
import { StallTimer, drainAllowanceMs } from '../stall-timer.js'
import { requestBody, sendableHeaders } from './browser-request.js'

/** Options of {@link XhrTransport}. */
export interface XhrTransportOptions {
  /** The XMLHttpRequest to use. Default `globalThis.XMLHttpRequest`. */
  readonly XMLHttpRequest?: typeof globalThis.XMLHttpRequest
  /**
   * The slowest link a body may drain at unseen, bytes/s: upload progress counts the bytes the
   * browser handed to its socket, so once the whole body went out up to a socket buffer (4 MiB)
   * of it may still sit in the kernel's buffers, and the stall timer allows `stallTimeoutMs` plus
   * that much at this rate for the answer ({@link drainAllowanceMs}, node:http's rule). Default 65536 (512 kbit/s).
   */
  readonly minBodyBytesPerSecond?: number
}

/**
 * The browser {@link HttpTransport} on XMLHttpRequest, the default where the page has one (the
 * transport of tus-js-client and @uppy/tus). A body is sent whole as one Blob — the source File's
 * own slice where there is one (`HttpRequest.blob`: read from disk by the browser as it goes out,
 * never copied through the page; `sendsBlobs`, so a verified partition goes in one PATCH), else
 * gathered from the body's pieces — and `xhr.upload`'s progress events report its bytes as they
 * leave: each one re-arms the stall timer and calls `onUploadProgress`, so a body that moves no
 * byte for `stallTimeoutMs` is aborted as `CLIENT_ERR_STALLED`, whatever its size. The response
 * head and every response byte re-arm it as in Node.
 *
 * A page sees no connect phase: a connection that never opens is caught by the stall timer
 * (`connectTimeoutMs` does not apply). A request that fails before any of its body went out or any
 * answer came back is reported as `CLIENT_ERR_UNREACHABLE`, after as `CLIENT_ERR_NETWORK` (both retried).
 */
export class XhrTransport implements HttpTransport {
  readonly sendsBlobs = true
  readonly sendsTrailers = false
  readonly #Xhr: typeof globalThis.XMLHttpRequest
  readonly #minRate: number

  constructor(options: XhrTransportOptions = {}) {
    this.#Xhr = options.XMLHttpRequest ?? globalThis.XMLHttpRequest
    this.#minRate = options.minBodyBytesPerSecond ?? 64 * 1024
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    if (req.signal?.aborted) throw aborted(req)
    const body = await requestBody(req)
    if (req.signal?.aborted) throw aborted(req)
    const xhr = new this.#Xhr()
    return new Promise<HttpResponse>((resolve, reject) => {
      let reached = false
      let sent = 0
      const timer = new StallTimer(req.stallTimeoutMs, () => {
        xhr.abort()
        fail(new Error('stalled'))
      })
      const onAbort = (): void => {
        xhr.abort()
        fail(new Error('aborted'))
      }
      const settle = (): void => {
        timer.clear()
        req.signal?.removeEventListener('abort', onAbort)
      }
      const fail = (err: Error): void => {
        settle()
        reject(requestFailure(req, err, { stalled: timer.stalled, reached }))
      }
      const moved = (): void => {
        reached = true
        timer.arm()
      }
      req.signal?.addEventListener('abort', onAbort, { once: true })
      xhr.open(req.method, req.url)
      for (const [name, value] of Object.entries(sendableHeaders(req))) xhr.setRequestHeader(name, value)
      xhr.responseType = 'text'
      if (body) {
        // Upload listeners only for a body: with one registered, even a CORS-simple request is preflighted.
        xhr.upload.onprogress = (e) => {
          const loaded = Math.min(e.loaded, body.size)
          if (loaded <= sent) return
          sent = loaded
          moved()
          req.onUploadProgress?.(sent)
        }
        xhr.upload.onload = () => {
          if (sent < body.size) {
            sent = body.size
            req.onUploadProgress?.(sent)
          }
          reached = true
          timer.arm(drainAllowanceMs(body.size, this.#minRate))
        }
      }
      xhr.onreadystatechange = () => {
        if (xhr.readyState === xhr.HEADERS_RECEIVED) moved()
      }
      xhr.onprogress = moved
      xhr.onload = () => {
        settle()
        resolve({ status: xhr.status, headers: responseHeaders(xhr.getAllResponseHeaders()), body: xhr.responseText.slice(0, MAX_ERROR_BODY) })
      }
      xhr.onerror = () => fail(new Error('network error'))
      timer.arm()
      xhr.send(body ?? null)
    })
  }

  /** XMLHttpRequest keeps no pool of ours to close. */
  async close(): Promise<void> {}
}

/** `getAllResponseHeaders()`'s `name: value` lines as a record, lower-case names (repeated ones come joined with `, `). */
function responseHeaders(raw: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of raw.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return out
}
