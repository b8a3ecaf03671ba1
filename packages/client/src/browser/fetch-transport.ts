import { ClientError } from '../errors.js'
import type { HttpRequest, HttpResponse, HttpTransport } from '../ports.js'

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

const MAX_ERROR_BODY = 4096

/**
 * The browser {@link HttpTransport} on `fetch`. Streaming request bodies are not available
 * everywhere (Chromium only over HTTP/2, with `duplex: 'half'`), so each PATCH body is sent whole
 * as one Blob — the source File's own slice where there is one (`HttpRequest.blob`: read from disk
 * by the browser, not copied through the page), else gathered from the body's pieces: upload progress is reported when the body has been sent (the
 * response head arrived), not per byte, and the stall timer covers the body's send time at
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
    let stalled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const arm = (ms: number): void => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        stalled = true
        controller.abort(stallError(req))
      }, ms)
    }
    const onAbort = (): void => controller.abort(req.signal?.reason)
    req.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const body = req.blob ?? (req.body === undefined ? undefined : await gather(req.body))
      arm(req.stallTimeoutMs + (body ? Math.ceil((body.size * 1000) / this.#minRate) : 0))
      const headers = { ...req.headers }
      delete headers['content-length'] // a forbidden header in browsers: the Blob sets it
      const res = await this.#fetch(req.url, {
        method: req.method,
        headers,
        ...(body && { body }),
        signal: controller.signal,
        cache: 'no-store',
        redirect: 'follow',
      })
      if (body) req.onUploadProgress?.(body.size)
      arm(req.stallTimeoutMs)
      let text = ''
      if (res.body) {
        const reader = res.body.getReader()
        const decoder = new TextDecoder()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          arm(req.stallTimeoutMs)
          if (text.length < MAX_ERROR_BODY) text += decoder.decode(value, { stream: true })
        }
      }
      const out: Record<string, string> = {}
      res.headers.forEach((value, name) => (out[name.toLowerCase()] = value))
      return { status: res.status, headers: out, body: text.slice(0, MAX_ERROR_BODY) }
    } catch (err) {
      if (stalled) throw stallError(req, err)
      if (req.signal?.aborted) throw aborted(req, err)
      if (err instanceof ClientError) throw err
      const message = (err as Error).message
      if (req.body === undefined) {
        throw new ClientError('CLIENT_ERR_UNREACHABLE', `${req.method} ${req.url}: cannot reach ${new URL(req.url).origin} (${message})`, { cause: err })
      }
      throw new ClientError('CLIENT_ERR_NETWORK', `${req.method} ${req.url}: ${message}`, { cause: err })
    } finally {
      clearTimeout(timer)
      req.signal?.removeEventListener('abort', onAbort)
    }
  }

  /** fetch keeps no pool of ours to close. */
  async close(): Promise<void> {}
}

async function gather(body: Uint8Array | AsyncIterable<Uint8Array>): Promise<Blob> {
  if (body instanceof Uint8Array) return new Blob([body as Uint8Array<ArrayBuffer>])
  const parts: Uint8Array<ArrayBuffer>[] = []
  for await (const piece of body) parts.push(piece as Uint8Array<ArrayBuffer>)
  return new Blob(parts)
}

function stallError(req: HttpRequest, cause?: unknown): ClientError {
  return new ClientError('CLIENT_ERR_STALLED', `${req.method} ${req.url}: no progress for ${req.stallTimeoutMs} ms`, cause === undefined ? {} : { cause })
}

function aborted(req: HttpRequest, cause?: unknown): ClientError {
  const reason = req.signal?.reason
  if (reason instanceof ClientError) return reason
  return new ClientError('CLIENT_ERR_ABORTED', `${req.method} ${req.url}: aborted`, cause === undefined ? {} : { cause })
}
