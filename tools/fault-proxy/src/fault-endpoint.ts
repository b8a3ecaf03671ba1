import { createServer, type Server, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { FaultProxyError } from './errors.js'
import { resolveFaults, type Faults, type ResolvedEndpoint } from './options.js'
import { ProxyConnection, type FaultEvent, type MutableCounters } from './proxy-connection.js'
import { mixSeed, mulberry32, type Rng } from './rng.js'
import { TokenBucket } from './token-bucket.js'

/** Most recent fault events an endpoint keeps. */
const MAX_EVENTS = 10_000

/** A snapshot of what one endpoint has done since it started listening. */
export interface EndpointStats {
  readonly name: string
  /** `http://host:port` clients should use instead of the upstream. */
  readonly url: string
  readonly upstream: string
  /** Connections accepted. */
  readonly connections: number
  /** Connections open now (stalled ones included). */
  readonly activeConnections: number
  /** HTTP requests seen (a non-HTTP connection counts as one). */
  readonly requests: number
  /** Bytes forwarded client → upstream. */
  readonly bytesUp: number
  /** Bytes forwarded upstream → client (injected answers not included). */
  readonly bytesDown: number
  /** Connections stalled right now. */
  readonly stalledNow: number
  /** Connections whose upstream could not be reached (the client got a reset). */
  readonly upstreamErrors: number
  /** Faults injected so far, by kind; `latency` counts connections given a non-zero `latencyMs`. */
  readonly faults: { readonly stall: number; readonly reset: number; readonly status: number; readonly latency: number }
  /** The bandwidth phase in force (`index` -1 and `Infinity` when there is no schedule). */
  readonly bandwidth: { readonly phase: number; readonly bitsPerSecond: number }
}

/**
 * One listening port in front of one upstream, with its own faults, counters and token buckets.
 * Create through `startFaultProxy()`.
 */
export class FaultEndpoint {
  /** Name from the options (`endpoint-<index>` by default). */
  readonly name: string
  /** The upstream as configured. */
  readonly upstream: string
  /** The port actually listened on. */
  readonly port: number
  /** `http://host:port` of this endpoint. */
  readonly url: string
  readonly #server: Server
  readonly #resolved: ResolvedEndpoint
  readonly #seed: number
  readonly #index: number
  readonly #connections = new Set<ProxyConnection>()
  readonly #events: FaultEvent[] = []
  readonly #startMs = performance.now()
  readonly #counters: MutableCounters = {
    connections: 0,
    activeConnections: 0,
    requests: 0,
    bytesUp: 0,
    bytesDown: 0,
    stalledNow: 0,
    upstreamErrors: 0,
    faults: { stall: 0, reset: 0, status: 0, latency: 0 },
  }
  #faults: Faults
  #buckets: { upload: TokenBucket | undefined; download: TokenBucket | undefined } = { upload: undefined, download: undefined }
  #closed: Promise<void> | undefined
  /** Draws the point of each window of the byte schedule (`stallEveryBytes`). */
  readonly #scheduleRng: Rng
  #stallWindow = 0
  #nextStallAt: number | undefined

  private constructor(server: Server, port: number, host: string, resolved: ResolvedEndpoint, index: number, seed: number) {
    this.#server = server
    this.#resolved = resolved
    this.#index = index
    this.#seed = seed
    this.#scheduleRng = mulberry32(mixSeed(seed, index, 0x5ced))
    this.name = resolved.name
    this.upstream = resolved.upstream
    this.port = port
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
    this.#faults = resolved.faults
    this.restartSchedule()
    server.on('connection', (socket: Socket) => this.#accept(socket))
  }

  /**
   * Listens for `resolved` on `host`. Rejects `FAULT_PROXY_ERR_LISTEN` when the port cannot be bound.
   * @param index the endpoint's position, mixed into every connection's seed.
   */
  static async listen(resolved: ResolvedEndpoint, index: number, seed: number, host: string): Promise<FaultEndpoint> {
    const server = createServer({ allowHalfOpen: true })
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new FaultProxyError('FAULT_PROXY_ERR_LISTEN', `endpoint ${resolved.name} cannot listen on ${host}:${resolved.listenPort}: ${err.message}`, { cause: err })),
      )
      server.listen(resolved.listenPort, host, () => {
        const addr = server.address()
        resolve(typeof addr === 'object' && addr !== null ? addr.port : resolved.listenPort)
      })
    })
    return new FaultEndpoint(server, port, host, resolved, index, seed)
  }

  /** The faults in force. */
  get faults(): Faults {
    return this.#faults
  }

  /**
   * Changes faults from now on (open connections see new rates at their next roll, and new
   * bandwidth and delay at once); a new `bandwidth` restarts the schedule. Validates like the
   * constructor options: throws `FAULT_PROXY_ERR_INVALID_OPTION`, or `FAULT_PROXY_ERR_CLOSED`.
   */
  setFaults(patch: Partial<Faults>): void {
    if (this.#closed !== undefined) throw new FaultProxyError('FAULT_PROXY_ERR_CLOSED', `endpoint ${this.name} is closed`)
    const next = resolveFaults(this.#faults, patch)
    const scheduleChanged = patch.bandwidth !== undefined || patch.bandwidthDirection !== undefined || patch.bandwidthLoop !== undefined
    this.#faults = next
    if (scheduleChanged) this.restartSchedule()
  }

  /** Starts the bandwidth schedule over from its first phase, now (e.g. when a benchmark run begins). */
  restartSchedule(): void {
    const f = this.#faults
    const now = performance.now()
    const make = (d: 'upload' | 'download'): TokenBucket | undefined =>
      f.bandwidth.length > 0 && (f.bandwidthDirection === 'both' || f.bandwidthDirection === d) ? new TokenBucket(f.bandwidth, f.bandwidthLoop, now) : undefined
    this.#buckets = { upload: make('upload'), download: make('download') }
  }

  /** A snapshot of the counters (a fresh object each call). */
  stats(): EndpointStats {
    const c = this.#counters
    const bucket = this.#buckets.upload ?? this.#buckets.download
    const phase = bucket?.phase(performance.now()) ?? { index: -1, bitsPerSecond: Infinity }
    return {
      name: this.name,
      url: this.url,
      upstream: this.upstream,
      connections: c.connections,
      activeConnections: c.activeConnections,
      requests: c.requests,
      bytesUp: c.bytesUp,
      bytesDown: c.bytesDown,
      stalledNow: c.stalledNow,
      upstreamErrors: c.upstreamErrors,
      faults: { ...c.faults },
      bandwidth: { phase: phase.index, bitsPerSecond: phase.bitsPerSecond },
    }
  }

  /** The injected faults in the order they fired (the last 10,000). */
  events(): readonly FaultEvent[] {
    return [...this.#events]
  }

  /** Stops listening and destroys every open connection, stalled ones included. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve())
      for (const c of this.#connections) c.destroy()
    })
    return this.#closed
  }

  /** The byte schedule: stall `w` falls at a seeded point of window `w` (`stallEveryBytes` long) of the upstream bytes. */
  #stallDue(): boolean {
    const every = this.#faults.stallEveryBytes
    if (every === 0) return false
    this.#nextStallAt ??= Math.floor(this.#scheduleRng() * every)
    if (this.#counters.bytesUp <= this.#nextStallAt) return false
    this.#stallWindow += 1
    this.#nextStallAt = this.#stallWindow * every + Math.floor(this.#scheduleRng() * every)
    return true
  }

  #accept(socket: Socket): void {
    const index = this.#counters.connections
    const connection = new ProxyConnection(socket, {
      index,
      seed: mixSeed(this.#seed, this.#index, index, 0),
      jitterSeed: mixSeed(this.#seed, this.#index, index, 1),
      upstreamHost: this.#resolved.upstreamHost,
      upstreamPort: this.#resolved.upstreamPort,
      counters: this.#counters,
      faults: () => this.#faults,
      stallDue: () => this.#stallDue(),
      bucket: (d) => this.#buckets[d],
      record: (e) => {
        this.#events.push({ ...e, atMs: Math.round(performance.now() - this.#startMs) })
        if (this.#events.length > MAX_EVENTS) this.#events.shift()
      },
      closed: (c) => this.#connections.delete(c),
    })
    this.#connections.add(connection)
  }
}
