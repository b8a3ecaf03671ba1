// Starts the real gateway in-process on a free port over fresh temp directories, and the small
// HTTP helpers the tests share. No mocks: real stores, real sockets.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { FileManifestStore, ObjectStore, type Backend, type Logger } from '@tessera/storage'
import { createApp, type GatewayApp } from '../../src/app.js'
import { loadConfig, type GatewayConfig } from '../../src/config.js'
import { FileKvStore } from '../../src/file-kv-store.js'
import { createGateway } from '../../src/gateway.js'
import { LocalLocker } from '../../src/local-locker.js'
import { openBackends } from '../../src/open-backends.js'
import { GatewayReads } from '../../src/read/gateway-reads.js'
import { JsonlEventLog } from '../../src/reconciliation/event-log.js'
import type { PartitionRecord } from '../../src/reconciliation/partition-record.js'
import type { TusDeps } from '../../src/tus/deps.js'
import type { UploadRecord } from '../../src/upload-record.js'

export const TUS = { 'Tus-Resumable': '1.0.0' } as const
export const OCTET = 'application/offset+octet-stream'

/** A logger that keeps what it was told, so a test can check that nothing was logged at error. */
export class RecordingLogger implements Logger {
  readonly lines: { level: string; obj: object; msg: string }[] = []
  debug(obj: object, msg: string): void {
    this.lines.push({ level: 'debug', obj, msg })
  }
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', obj, msg })
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', obj, msg })
  }
  error(obj: object, msg: string): void {
    this.lines.push({ level: 'error', obj, msg })
  }
  get errors(): { obj: object; msg: string }[] {
    return this.lines.filter((l) => l.level === 'error')
  }
}

export interface TestGateway {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  /** `http://127.0.0.1:<port>/files` */
  readonly endpoint: string
  readonly port: number
  readonly config: GatewayConfig
  readonly dataDir: string
  readonly app: GatewayApp
  readonly deps: TusDeps | undefined
  readonly log: RecordingLogger
  readonly server: Server
  /** Every request the server received, as Node presents it (to see how much of a body it has read). */
  readonly requests: IncomingMessage[]
  /** Stops the server (dropping open connections) and removes the temp directory. */
  close(): Promise<void>
}

export interface StartOptions {
  /** A controllable clock: the gateway is then wired through `createApp` (no expiry timer). */
  readonly now?: () => number
  /** Wraps the opened backends (a `FaultyBackend` each, say): the gateway is then wired through `createApp` too. */
  readonly backends?: (opened: readonly Backend[]) => readonly Backend[]
}

/** Starts a gateway with `--data <fresh temp dir>` plus `flags`, listening on 127.0.0.1:0. */
export async function startGateway(flags: readonly string[] = [], options: StartOptions = {}): Promise<TestGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tessera-gw-'))
  const config = loadConfig(['--port', '0', '--data', dataDir, ...flags], {}, dataDir)
  const log = new RecordingLogger()
  let app: GatewayApp
  let deps: TusDeps | undefined
  let stop = async (): Promise<void> => {}
  if (options.now || options.backends) {
    deps = await openDeps(config, log, options.now ?? Date.now, options.backends)
    app = createApp(deps)
  } else {
    const gateway = await createGateway(config, log)
    app = gateway
    deps = gateway.context.deps
    stop = gateway.close
  }
  const server = createServer(app.app)
  const requests: IncomingMessage[] = []
  server.on('request', (req: IncomingMessage) => requests.push(req))
  server.requestTimeout = 0
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  return {
    origin,
    endpoint: `${origin}${config.basePath}`,
    port,
    config,
    dataDir,
    app,
    deps,
    log,
    server,
    requests,
    async close() {
      await stop()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** The same wiring as `createGateway` (less durability), with an injected clock and backend wrapper. */
async function openDeps(config: GatewayConfig, log: Logger, now: () => number, wrap: (opened: readonly Backend[]) => readonly Backend[] = (b) => b): Promise<TusDeps> {
  // Directories only (these tests configure no S3 backends), so nothing is left to close.
  const backends = wrap((await openBackends(config)).backends)
  const manifests = await FileManifestStore.open({ dir: join(config.dataDir, 'meta', 'manifests') })
  const records = await FileKvStore.open<UploadRecord>(join(config.dataDir, 'meta', 'uploads'))
  const partitions = await FileKvStore.open<PartitionRecord>(join(config.dataDir, 'meta', 'partitions'))
  const events = await JsonlEventLog.open(config.reconciliationLog, log, now)
  const reads = await GatewayReads.open(config, log)
  const store = await ObjectStore.open({ backends, manifests, dataBlocks: config.dataBlocks, parityBlocks: config.parityBlocks, blockBytes: config.blockBytes, logger: log, ...reads.storeOptions() })
  reads.attach(store)
  return { config, store, records, partitions, events, locker: new LocalLocker(), log, now, reads }
}

/** Creates an upload; resolves its absolute URL. */
export async function create(gw: TestGateway, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, ...headers } })
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`)
  const location = res.headers.get('location')
  if (!location) throw new Error('create: no Location')
  return location
}

/** Creates an upload of `body.length` bytes and sends it in one PATCH (checked). */
export async function upload(gw: TestGateway, body: Uint8Array, headers: Record<string, string> = {}): Promise<string> {
  const url = await create(gw, { 'Upload-Length': String(body.length), ...headers })
  const res = await patch(url, 0, body)
  if (res.status !== 204) throw new Error(`patch: ${res.status} ${await res.text()}`)
  return url
}

/** A tus PATCH of `body` at `offset`. */
export function patch(url: string, offset: number, body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'PATCH',
    headers: { ...TUS, 'Content-Type': OCTET, 'Upload-Offset': String(offset), ...headers },
    body,
    ...(body instanceof ReadableStream && { duplex: 'half' }),
  } as RequestInit)
}

/** HEAD of an upload. */
export function head(url: string): Promise<Response> {
  return fetch(url, { method: 'HEAD', headers: TUS })
}

/** The committed offset an upload's HEAD reports. */
export async function offsetOf(url: string): Promise<number> {
  const res = await head(url)
  if (res.status !== 200) throw new Error(`HEAD: ${res.status}`)
  return Number(res.headers.get('upload-offset'))
}

/** The full body of a GET, checked to be 200. */
export async function download(url: string, headers: Record<string, string> = {}): Promise<Buffer> {
  const res = await fetch(url, { headers })
  if (res.status !== 200) throw new Error(`GET: ${res.status} ${await res.text()}`)
  return Buffer.from(await res.arrayBuffer())
}

/** Deterministic pseudo-random bytes (xorshift), so a failure is reproducible. */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** `Upload-Metadata` value for `pairs` (a `null` value sends the key alone). */
export function metadata(pairs: Record<string, string | null>): string {
  return Object.entries(pairs)
    .map(([k, v]) => (v === null ? k : `${k} ${Buffer.from(v, 'utf8').toString('base64')}`))
    .join(',')
}

/** The id at the end of an upload URL. */
export function idOf(url: string): string {
  return new URL(url).pathname.split('/').pop()!
}

/** Every file under `dir`, relative, recursively (missing dir → empty). */
export async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true })
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

/** The backend directories of a configuration (its S3 backends left out). */
export function backendDirs(config: GatewayConfig): string[] {
  return config.backends.flatMap((b) => (b.kind === 'fs' ? [b.dir] : []))
}

/** Block files of upload `id` across all the gateway's backend directories. */
export async function blocksOf(gw: TestGateway, id: string): Promise<string[]> {
  const all = await Promise.all(backendDirs(gw.config).map(async (d) => (await listFiles(d)).filter((f) => f.startsWith(`${id}/`) && f.endsWith('~blk'))))
  return all.flat()
}

/** A raw HTTP/1.1 exchange: sends `head` verbatim (path not normalised), resolves status, headers, body. */
export function rawRequest(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * A PATCH whose body goes chunked with `trailers` after it (announced in `Trailer`). `cut`: the
 * connection is destroyed once the body is on the socket, before its last chunk and the trailers,
 * and it resolves status 0.
 */
export function trailedPatch(url: string, offset: number, body: Uint8Array, trailers: Record<string, string>, options: { readonly cut?: boolean } = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...TUS, 'Content-Type': OCTET, 'Upload-Offset': String(offset), Trailer: Object.keys(trailers).join(', ') }
    const req = httpRequest(url, { method: 'PATCH', headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    if (options.cut) {
      req.on('error', () => resolve({ status: 0, headers: {}, body: '' }))
      req.write(body, () => setTimeout(() => req.destroy(), 100))
      return
    }
    req.on('error', reject)
    req.write(body)
    req.addTrailers(trailers)
    req.end()
  })
}

/** A PATCH on a raw socket that sends its headers and `sent` bytes, then stalls until told. */
export interface StalledPatch {
  readonly socket: Socket
  /** Bytes written to the socket: request head plus the body bytes sent. */
  readonly sentBytes: number
  /** Resolves the raw response text once the server answers (and closes or ends the response). */
  readonly response: Promise<string>
}

/** Opens a raw PATCH declaring `contentLength` body bytes but sending only `sent`. */
export async function stalledPatch(port: number, path: string, offset: number, contentLength: number, sent: Uint8Array, extra: Record<string, string> = {}): Promise<StalledPatch> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const headers = {
    Host: `127.0.0.1:${port}`,
    'Tus-Resumable': '1.0.0',
    'Content-Type': OCTET,
    'Upload-Offset': String(offset),
    'Content-Length': String(contentLength),
    ...extra,
  }
  const text = [`PATCH ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n')
  socket.write(text)
  socket.write(sent)
  const sentBytes = Buffer.byteLength(text, 'latin1') + sent.length
  const response = new Promise<string>((resolve) => {
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      // A 204 has no body: the head is complete at the blank line.
      const textSoFar = Buffer.concat(chunks).toString('latin1')
      if (textSoFar.includes('\r\n\r\n')) resolve(textSoFar)
    })
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    socket.on('error', () => undefined)
  })
  return { socket, sentBytes, response }
}

/** Status and headers of a raw response text. */
export function parseRawResponse(text: string): { status: number; headers: Map<string, string> } {
  const [statusLine, ...lines] = text.split('\r\n\r\n')[0]!.split('\r\n')
  const headers = new Map<string, string>()
  for (const line of lines) {
    const i = line.indexOf(':')
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim())
  }
  return { status: Number(statusLine?.split(' ')[1]), headers }
}

/** Waits until `predicate` holds, polling every 20 ms; fails after `timeoutMs` (a hang guard). */
export async function eventually(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await predicate()) return
    if (Date.now() > deadline) throw new Error('condition not met before the hang guard')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * Waits until the gateway has taken the upload's lock for a stalled PATCH and has read every byte
 * the client sent into the write (nothing left in the socket or the request's buffer).
 */
export async function waitForStalledWrite(gw: TestGateway, stalled: StalledPatch): Promise<void> {
  const port = stalled.socket.localPort
  await eventually(() => {
    const req = gw.requests.find((r) => r.method === 'PATCH' && r.socket?.remotePort === port)
    return req !== undefined && gw.app.context.inflight.size > 0 && req.socket.bytesRead >= stalled.sentBytes && req.readableLength === 0
  })
  // Chunks handed to the body iterator reach the stripe buffer within microtasks; let them run.
  await new Promise((r) => setImmediate(r))
}
