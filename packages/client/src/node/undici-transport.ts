import type { Readable } from 'node:stream'
import { Pool } from 'undici'
import { ClientError } from '../errors.js'
import type { HttpRequest, HttpResponse, HttpTransport } from '../ports.js'

/** Options of {@link UndiciTransport}. */
export interface UndiciTransportOptions {
  /** TCP (+ TLS) connect timeout, ms. Default 10000. */
  readonly connectTimeoutMs?: number
  /** Connections per origin. Default 16. */
  readonly connectionsPerOrigin?: number
  /** Idle keep-alive connections are closed after this long, ms. Default 10000. */
  readonly keepAliveTimeoutMs?: number
  /**
   * The slowest link a body may drain at unseen, bytes/s: once the socket has taken the whole body,
   * up to {@link SEND_BUFFER_BYTES} of it may still sit in kernel buffers, so the stall timer allows
   * `stallTimeoutMs` + that much at this rate for the answer. Default 65536 (512 kbit/s).
   */
  readonly minBodyBytesPerSecond?: number
}

/** What a Linux socket's send buffer holds at most (`net.ipv4.tcp_wmem` max, default 4 MiB), bytes. */
export const SEND_BUFFER_BYTES = 4 * 1024 * 1024

const MAX_ERROR_BODY = 4096
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])

/**
 * The Node {@link HttpTransport}: one undici `Pool` per origin with keep-alive. undici's own
 * timeouts are off; instead every request has a progress timer (`stallTimeoutMs`) re-armed by
 * every body slice the socket takes, the response head and every response byte — a stalled socket
 * is aborted whichever phase it stalls in.
 */
export class UndiciTransport implements HttpTransport {
  readonly streamsBodies = true
  readonly #pools = new Map<string, Pool>()
  readonly #o: Required<UndiciTransportOptions>

  constructor(options: UndiciTransportOptions = {}) {
    this.#o = { connectTimeoutMs: 10_000, connectionsPerOrigin: 16, keepAliveTimeoutMs: 10_000, minBodyBytesPerSecond: 64 * 1024, ...options }
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.url)
    const pool = this.#pool(url.origin)
    const controller = new AbortController()
    let stalled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const arm = (extraMs = 0): void => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        stalled = true
        controller.abort(new ClientError('CLIENT_ERR_STALLED', `${req.method} ${req.url}: no progress for ${req.stallTimeoutMs} ms`))
      }, req.stallTimeoutMs + extraMs)
    }
    // The body's tail drains from kernel buffers with nothing to see: allow for it at the slowest rate.
    const drained = (sent: number): void => arm((Math.min(sent, SEND_BUFFER_BYTES) * 1000) / this.#o.minBodyBytesPerSecond)
    const onAbort = (): void => controller.abort(req.signal?.reason)
    if (req.signal?.aborted) throw aborted(req)
    req.signal?.addEventListener('abort', onAbort, { once: true })
    arm()
    try {
      const body = req.body === undefined ? undefined : progress(req.body, arm, drained, req.onUploadProgress)
      const res = await pool.request({
        path: url.pathname + url.search,
        method: req.method,
        headers: req.headers,
        // undici sends async iterables (writeIterable: one socket write per slice, awaiting drain); its types only list Readable.
        ...(body !== undefined && { body: body as unknown as Readable }),
        signal: controller.signal,
        headersTimeout: 0,
        bodyTimeout: 0,
      })
      arm()
      let text = ''
      const decoder = new TextDecoder()
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        arm()
        if (text.length < MAX_ERROR_BODY) text += decoder.decode(chunk, { stream: true })
      }
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
      }
      return { status: res.statusCode, headers, body: text.slice(0, MAX_ERROR_BODY) }
    } catch (err) {
      if (stalled) throw new ClientError('CLIENT_ERR_STALLED', `${req.method} ${req.url}: no progress for ${req.stallTimeoutMs} ms`, { cause: err })
      if (req.signal?.aborted) throw aborted(req, err)
      if (err instanceof ClientError) throw err
      const code = errorCode(err)
      if (code !== undefined && UNREACHABLE.has(code)) {
        throw new ClientError('CLIENT_ERR_UNREACHABLE', `${req.method} ${req.url}: cannot reach ${url.origin} (${code})`, { cause: err })
      }
      throw new ClientError('CLIENT_ERR_NETWORK', `${req.method} ${req.url}: ${code ?? (err as Error).message}`, { cause: err })
    } finally {
      clearTimeout(timer)
      req.signal?.removeEventListener('abort', onAbort)
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()]
    this.#pools.clear()
    await Promise.all(pools.map((p) => p.close().catch(() => {})))
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin)
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.#o.connectionsPerOrigin,
        connect: { timeout: this.#o.connectTimeoutMs },
        keepAliveTimeout: this.#o.keepAliveTimeoutMs,
        headersTimeout: 0,
        bodyTimeout: 0,
      })
      this.#pools.set(origin, pool)
    }
    return pool
  }
}

function aborted(req: HttpRequest, cause?: unknown): ClientError {
  const reason = req.signal?.reason
  if (reason instanceof ClientError) return reason
  return new ClientError('CLIENT_ERR_ABORTED', `${req.method} ${req.url}: aborted`, cause === undefined ? {} : { cause })
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR_ABORTED') return code
    if (typeof code === 'string' && !(e as { cause?: unknown }).cause) return code
  }
  return undefined
}

/**
 * Passes the body through, re-arming the stall timer and reporting bytes as the socket takes them;
 * `drained(sent)` once the socket has taken the last of them.
 */
async function* progress(
  body: Uint8Array | AsyncIterable<Uint8Array>,
  arm: () => void,
  drained: (sent: number) => void,
  report: ((bytes: number) => void) | undefined,
): AsyncGenerator<Uint8Array> {
  let sent = 0
  const pieces = body instanceof Uint8Array ? [body] : body
  for await (const piece of pieces) {
    yield piece
    // Resumed: the transport wants the next slice, so this one went to the socket.
    sent += piece.length
    arm()
    report?.(sent)
  }
  drained(sent)
}
