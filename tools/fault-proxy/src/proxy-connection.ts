import { connect, type Socket } from 'node:net'
import { drawAmount, type Faults } from './options.js'
import { Pump, type PumpShaping } from './pump.js'
import { RequestFramer } from './request-framer.js'
import { mulberry32, type Rng } from './rng.js'
import type { TokenBucket } from './token-bucket.js'

/** How long a connection that got an injected answer may linger before the proxy drops it. */
const LINGER_AFTER_ANSWER_MS = 10_000

/** The kinds of injected faults, as counted in stats and events. */
export type FaultKind = 'stall' | 'reset' | 'status'

/** One injected fault, for `FaultEndpoint.events()`. */
export interface FaultEvent {
  /** Connection number on its endpoint, from 0 in accept order. */
  readonly connection: number
  /** Request number on that connection, from 0. */
  readonly request: number
  readonly kind: FaultKind
  /** For stalls and resets: the bytes forwarded in the request before the fault (its planned point). */
  readonly afterBytes?: number
  /** For injected answers: the status sent. */
  readonly status?: number
  /** When, in ms since the endpoint started listening. */
  readonly atMs: number
}

/** Counters a connection updates in place (owned by its endpoint). */
export interface MutableCounters {
  connections: number
  activeConnections: number
  requests: number
  bytesUp: number
  bytesDown: number
  stalledNow: number
  upstreamErrors: number
  faults: { stall: number; reset: number; status: number; latency: number }
}

/** What a connection needs from its endpoint. */
export interface ConnectionContext {
  /** Connection number on the endpoint, from 0. */
  readonly index: number
  /** Seed of this connection's own fault stream (already mixed with endpoint and index). */
  readonly seed: number
  /** Seed of this connection's jitter stream (delay draws; chunking is not deterministic). */
  readonly jitterSeed: number
  readonly upstreamHost: string
  readonly upstreamPort: number
  readonly counters: MutableCounters
  faults(): Faults
  /** Whether the byte schedule (`stallEveryBytes`) puts a stall on the bytes just forwarded upstream (advances it when so). */
  stallDue(): boolean
  bucket(direction: 'upload' | 'download'): TokenBucket | undefined
  record(event: Omit<FaultEvent, 'atMs'>): void
  closed(connection: ProxyConnection): void
}

type Plan = { kind: 'none' } | { kind: 'stall' | 'reset'; afterBytes: number } | { kind: 'status' }

const NONE: Plan = Object.freeze({ kind: 'none' })

/**
 * One client connection and its upstream twin. Fault dice come from a PRNG of its own, seeded by
 * (seed, endpoint, connection number), so the plan of connection `i` does not depend on timing.
 * Draw order: latency, then two numbers per roll (kind, point) — fixed, whatever the rates.
 */
export class ProxyConnection {
  readonly #client: Socket
  readonly #ctx: ConnectionContext
  readonly #rng: Rng
  readonly #jitter: Rng
  readonly #plan0: Plan
  #upstream: Socket | undefined
  #up: Pump | undefined
  #down: Pump | undefined
  #request = -1
  #plan: Plan = NONE
  #budget = Infinity
  #stalled = false
  #stallTimer: NodeJS.Timeout | undefined
  #startTimer: NodeJS.Timeout | undefined
  #done = false

  constructor(client: Socket, ctx: ConnectionContext) {
    this.#client = client
    this.#ctx = ctx
    this.#rng = mulberry32(ctx.seed)
    this.#jitter = mulberry32(ctx.jitterSeed)
    const f = ctx.faults()
    const latencyMs = drawAmount(f.latencyMs, this.#rng())
    this.#plan0 = this.#roll(f)
    ctx.counters.connections++
    ctx.counters.activeConnections++
    client.setNoDelay(true)
    client.on('error', () => this.#teardown(true))
    client.on('close', () => this.#teardown(false))
    // A client that half-closes a stalled connection has given up on it (its timeout fired).
    client.on('end', () => {
      if (this.#stalled) this.destroy()
    })
    if (this.#plan0.kind !== 'status') {
      const framer = new RequestFramer()
      this.#up = new Pump(client, this.#hooks('upload'), this.#shaping('upload'), (c) => framer.push(c))
    } else {
      client.pause() // read nothing until the answer is due
    }
    if (latencyMs > 0) {
      ctx.counters.faults.latency++
      this.#startTimer = setTimeout(() => this.#start(), latencyMs)
    } else {
      this.#start()
    }
  }

  /** Closes both sockets at once (the proxy is shutting down). */
  destroy(): void {
    this.#client.destroy()
    this.#upstream?.destroy()
    this.#teardown(false)
  }

  #start(): void {
    this.#startTimer = undefined
    if (this.#done) return
    if (this.#plan0.kind === 'status') {
      // The whole connection is answered by the proxy: wait for the request, answer, drain.
      this.#client.once('data', () => {
        this.#ctx.counters.requests++
        this.#request = 0
        this.#client.on('data', () => {}) // discard the rest so the client reads our answer, not an RST
        this.#injectStatus()
      })
      this.#client.resume()
      return
    }
    const upstream = connect({ host: this.#ctx.upstreamHost, port: this.#ctx.upstreamPort, allowHalfOpen: true })
    this.#upstream = upstream
    upstream.setNoDelay(true)
    this.#down = new Pump(upstream, this.#hooks('download'), this.#shaping('download'))
    let connected = false
    upstream.once('connect', () => {
      connected = true
      this.#up!.attach(upstream)
      this.#down!.attach(this.#client)
    })
    upstream.on('error', () => {
      if (!connected) this.#ctx.counters.upstreamErrors++
      // The upstream died: pass it on as the same abrupt close.
      if (!this.#client.destroyed) this.#client.resetAndDestroy()
    })
  }

  #hooks(direction: 'upload' | 'download') {
    const counters = this.#ctx.counters
    return {
      requestStart: () => this.#requestStart(),
      allowance: () => this.#budget,
      forwarded: (n: number) => {
        if (direction === 'upload') {
          counters.bytesUp += n
          if (!this.#stalled && this.#ctx.stallDue()) return this.#stall(undefined)
        } else {
          counters.bytesDown += n
        }
        if (this.#budget === Infinity) return
        this.#budget -= n
        if (this.#budget <= 0) this.#fire()
      },
    }
  }

  #shaping(direction: 'upload' | 'download'): PumpShaping {
    return {
      bucket: () => this.#ctx.bucket(direction),
      delayMs: () => {
        const f = this.#ctx.faults()
        const u = this.#jitter()
        return f.delayDirection === 'both' || f.delayDirection === direction ? drawAmount(f.delayMs, u) : 0
      },
    }
  }

  #roll(f: Faults): Plan {
    const u = this.#rng()
    const v = this.#rng()
    if (u < f.stallRate) return { kind: 'stall', afterBytes: drawAmount(f.stallAfterBytes, v, true) }
    if (u < f.stallRate + f.resetRate) return { kind: 'reset', afterBytes: drawAmount(f.resetAfterBytes, v, true) }
    if (u < f.stallRate + f.resetRate + f.statusRate) return { kind: 'status' }
    return NONE
  }

  #requestStart(): void {
    this.#request++
    this.#ctx.counters.requests++
    const f = this.#ctx.faults()
    this.#plan = this.#request === 0 ? this.#plan0 : f.faultsPer === 'request' ? this.#roll(f) : NONE
    this.#budget = this.#plan.kind === 'stall' || this.#plan.kind === 'reset' ? this.#plan.afterBytes : Infinity
    if (this.#plan.kind === 'status') this.#injectStatus()
    else if (this.#budget <= 0) this.#fire()
  }

  #fire(): void {
    const plan = this.#plan
    this.#plan = NONE
    this.#budget = Infinity
    if (plan.kind === 'stall') this.#stall(plan.afterBytes)
    else if (plan.kind === 'reset') this.#reset(plan.afterBytes)
  }

  /** `afterBytes`: the rolled point in the request; undefined for a stall of the byte schedule. */
  #stall(afterBytes: number | undefined): void {
    const counters = this.#ctx.counters
    counters.faults.stall++
    counters.stalledNow++
    this.#stalled = true
    this.#plan = NONE
    this.#budget = Infinity
    this.#ctx.record({ connection: this.#ctx.index, request: this.#request, kind: 'stall', ...(afterBytes !== undefined && { afterBytes }) })
    this.#up?.freeze()
    this.#down?.freeze()
    const stallMs = this.#ctx.faults().stallMs
    if (Number.isFinite(stallMs)) {
      this.#stallTimer = setTimeout(() => {
        this.#stallTimer = undefined
        this.#unstall()
        this.#up?.thaw()
        this.#down?.thaw()
      }, stallMs)
    }
  }

  #unstall(): void {
    if (!this.#stalled) return
    this.#stalled = false
    this.#ctx.counters.stalledNow--
  }

  #reset(afterBytes: number): void {
    this.#ctx.counters.faults.reset++
    this.#ctx.record({ connection: this.#ctx.index, request: this.#request, kind: 'reset', afterBytes })
    this.#up?.stop()
    this.#down?.stop()
    if (!this.#client.destroyed) this.#client.resetAndDestroy()
    if (this.#upstream !== undefined && !this.#upstream.destroyed) this.#upstream.resetAndDestroy()
  }

  #injectStatus(): void {
    const status = this.#ctx.faults().status
    this.#ctx.counters.faults.status++
    this.#ctx.record({ connection: this.#ctx.index, request: this.#request, kind: 'status', status })
    const answer = cannedAnswer(status)
    this.#up?.stop()
    this.#client.resume() // the stopped pump may have paused it; keep reading so the close is clean
    if (this.#up !== undefined) this.#client.on('data', () => {})
    if (this.#down !== undefined) {
      // Keep-alive: the previous response may still be in the delay line; the answer goes after it.
      this.#down.pushFinal(answer)
      this.#upstream?.destroy()
    } else {
      this.#client.end(answer)
    }
    setTimeout(() => this.#client.destroy(), LINGER_AFTER_ANSWER_MS).unref()
  }

  #teardown(abrupt: boolean): void {
    if (this.#done) return
    this.#done = true
    if (this.#startTimer !== undefined) clearTimeout(this.#startTimer)
    if (this.#stallTimer !== undefined) clearTimeout(this.#stallTimer)
    this.#unstall()
    this.#up?.stop()
    this.#down?.stop()
    const upstream = this.#upstream
    if (upstream !== undefined && !upstream.destroyed) {
      if (abrupt) upstream.resetAndDestroy()
      else upstream.destroy()
    }
    this.#ctx.counters.activeConnections--
    this.#ctx.closed(this)
  }
}

/** The injected answer. No body: it would be a protocol error after a HEAD, whose method we may not have seen whole. */
function cannedAnswer(status: number): Buffer {
  return Buffer.from(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Injected Fault'}\r\n` +
      'Content-Length: 0\r\n' +
      'Connection: close\r\n' +
      'X-Fault-Proxy: status\r\n' +
      '\r\n',
    'latin1',
  )
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}
