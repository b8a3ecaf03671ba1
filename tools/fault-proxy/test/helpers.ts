// A tiny upstream HTTP server and a raw HTTP client for the proxy tests.
import { createHash, randomBytes } from 'node:crypto'
import { createServer, request, Agent, type IncomingHttpHeaders, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { after, before } from 'node:test'
import { startFaultProxy, type FaultEndpoint, type FaultProxy, type FaultProxyOptions } from '../src/index.js'

export interface Upstream {
  readonly url: string
  /** Requests the upstream has received (heads), in order. */
  readonly seen: string[]
  close(): Promise<void>
}

/**
 * `POST /echo` answers the body back; `GET /bytes?n=N` sends N bytes of a fixed pattern;
 * `POST /sink` answers `{ bytes, sha256 }` of the body; anything else answers `ok`.
 */
export async function startUpstream(): Promise<Upstream> {
  const seen: string[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      req.pipe(res)
    } else if (url.pathname === '/bytes') {
      const body = pattern(Number(url.searchParams.get('n') ?? '0'))
      res.writeHead(200, { 'content-length': body.length }).end(body)
    } else if (url.pathname === '/sink') {
      const hash = createHash('sha256')
      let bytes = 0
      req.on('data', (c: Buffer) => {
        bytes += c.length
        hash.update(c)
      })
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })))
    } else {
      req.resume()
      req.on('end', () => res.end('ok'))
    }
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (typeof addr !== 'object' || addr === null) throw new Error('no address')
  return {
    url: `http://127.0.0.1:${addr.port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** `n` bytes of a fixed pattern. */
export function pattern(n: number): Buffer {
  return Buffer.alloc(n, BLOCK)
}

/** 251 bytes (a prime length, so the pattern does not line up with power-of-two chunks). */
const BLOCK = Buffer.from(Array.from({ length: 251 }, (_, i) => (i * 31 + 7) & 0xff))

export { randomBytes }

export interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

export interface SendOptions {
  readonly method?: string
  readonly body?: Buffer
  readonly headers?: Record<string, string | number>
  /** Socket inactivity timeout in ms: the request is destroyed with `ETIMEDOUT_TEST` when it fires. */
  readonly timeoutMs?: number
  /** Default: a fresh connection per request (no keep-alive), so connection order is the call order. */
  readonly agent?: Agent | false
  /** Called on timeout with the socket as it is at that moment, before it is destroyed. */
  readonly onTimeout?: (socket: Socket, closedByPeer: boolean) => void
}

/** One HTTP request with node:http; rejects with the socket error (its `code`) or `ETIMEDOUT_TEST`. */
export function send(url: string, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false })
    let closedByPeer = false
    req.on('socket', (socket: Socket) => {
      socket.on('end', () => (closedByPeer = true))
    })
    if (options.timeoutMs !== undefined) {
      req.setTimeout(options.timeoutMs, () => {
        options.onTimeout?.(req.socket!, closedByPeer)
        const err = Object.assign(new Error('client timeout'), { code: 'ETIMEDOUT_TEST' })
        req.destroy(err)
      })
    }
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.end(options.body)
  })
}

/** Polls `check` every 10 ms until it is true; rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** What {@link useProxies} gives a `describe` block. */
export interface ProxyHarness {
  /** The upstream, started in `before`. */
  readonly upstream: Upstream
  /** Starts a proxy (closed in `after`) and resolves its first endpoint. */
  start(options: FaultProxyOptions): Promise<FaultEndpoint>
}

/** Registers `before`/`after` hooks in the calling `describe`: one upstream, and every proxy `start` opened closed at the end. */
export function useProxies(): ProxyHarness {
  let upstream: Upstream | undefined
  const proxies: FaultProxy[] = []
  before(async () => {
    upstream = await startUpstream()
  })
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()))
    await upstream?.close()
  })
  return {
    get upstream() {
      if (!upstream) throw new Error('upstream used before the before() hook ran')
      return upstream
    },
    async start(options) {
      const p = await startFaultProxy(options)
      proxies.push(p)
      return p.endpoints[0]!
    },
  }
}
