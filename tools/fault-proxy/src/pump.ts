import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { TokenBucket } from './token-bucket.js'

/** Bytes queued in a pump before its source is paused (TCP backpressure reaches the sender). */
const HIGH_WATER_BYTES = 1024 * 1024

interface Chunk {
  buf: Buffer
  readyAtMs: number
  startsRequest: boolean
}

const END = Symbol('end')

/** What a {@link Pump} asks its connection while forwarding. */
export interface PumpHooks {
  /** Called before the first byte of a new request is forwarded (upload pumps only). */
  requestStart(): void
  /** Bytes that may still be forwarded before the connection's planned fault fires (`Infinity` = none). */
  allowance(): number
  /** `n` bytes were just written to the destination. May freeze or stop pumps. */
  forwarded(n: number): void
}

/** Per-chunk settings a pump reads on every chunk, so `setFaults` takes effect at once. */
export interface PumpShaping {
  /** The bucket to draw from, or `undefined` for no cap. */
  bucket(): TokenBucket | undefined
  /** One-way delay for the next chunk, in ms. */
  delayMs(): number
}

/**
 * Moves bytes in one direction of a proxied connection: source `data` → delay line → token bucket
 * → destination, in order, with backpressure both ways. It can be frozen (a stall: nothing moves,
 * the source is paused, nothing is closed), thawed, or stopped for good.
 */
export class Pump {
  readonly #src: Socket
  #dst: Socket | undefined
  readonly #hooks: PumpHooks
  readonly #shaping: PumpShaping
  readonly #split: ((chunk: Buffer) => number[]) | undefined
  readonly #queue: (Chunk | typeof END)[] = []
  #queuedBytes = 0
  #lastReadyMs = 0
  #timer: NodeJS.Timeout | undefined
  #waitingDrain = false
  #frozen = false
  #stopped = false
  #pausedByUs = false
  #detached = false

  /**
   * @param split for the upload direction: the offsets in a chunk where requests start (see `RequestFramer`).
   */
  constructor(src: Socket, hooks: PumpHooks, shaping: PumpShaping, split?: (chunk: Buffer) => number[]) {
    this.#src = src
    this.#hooks = hooks
    this.#shaping = shaping
    this.#split = split
    src.on('data', this.#onData)
    src.on('end', this.#onEnd)
  }

  /** Starts writing to `dst` (the upstream socket arrives after a connect). */
  attach(dst: Socket): void {
    this.#dst = dst
    this.#run()
  }

  /**
   * Stops forwarding without closing anything. The source is still read until the queue holds
   * 1 MiB (then paused, so a sender of more blocks), which lets the connection notice a client that
   * gives up on a small request and closes.
   */
  freeze(): void {
    this.#frozen = true
    this.#clearTimer()
  }

  /** Undoes {@link freeze}. */
  thaw(): void {
    if (!this.#frozen || this.#stopped) return
    this.#frozen = false
    this.#run()
  }

  /** Stops for good and drops what is queued; the source is no longer read by this pump. */
  stop(): void {
    this.#stopped = true
    this.#clearTimer()
    this.#queue.length = 0
    this.#queuedBytes = 0
    this.detachSource()
  }

  /** Stops reading the source (its later data and end are ignored); queued bytes still go out. */
  detachSource(): void {
    if (this.#detached) return
    this.#detached = true
    this.#src.off('data', this.#onData)
    this.#src.off('end', this.#onEnd)
  }

  /** Queues bytes that did not come from the source (an injected answer), then the end of the stream. */
  pushFinal(buf: Buffer): void {
    this.detachSource()
    this.#enqueue(buf, false)
    this.#queue.push(END)
    this.#run()
  }

  #onData = (data: Buffer): void => {
    const starts = this.#split?.(data) ?? []
    const cuts = [...new Set([0, ...starts, data.length])]
    for (let i = 0; i + 1 < cuts.length; i++) {
      const from = cuts[i]!
      this.#enqueue(data.subarray(from, cuts[i + 1]), starts.includes(from))
    }
    if (this.#queuedBytes > HIGH_WATER_BYTES && !this.#pausedByUs) {
      this.#pausedByUs = true
      this.#src.pause()
    }
    this.#run()
  }

  #onEnd = (): void => {
    this.#queue.push(END)
    this.#run()
  }

  #enqueue(buf: Buffer, startsRequest: boolean): void {
    const now = performance.now()
    const readyAtMs = Math.max(now + this.#shaping.delayMs(), this.#lastReadyMs)
    this.#lastReadyMs = readyAtMs
    this.#queue.push({ buf, readyAtMs, startsRequest })
    this.#queuedBytes += buf.length
  }

  #run(): void {
    const dst = this.#dst
    if (dst === undefined || this.#timer !== undefined || this.#waitingDrain || this.#frozen || this.#stopped) return
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!
      if (head === END) {
        this.#queue.shift()
        if (!dst.destroyed) dst.end()
        return
      }
      const now = performance.now()
      if (head.readyAtMs > now) return this.#sleep(head.readyAtMs - now)
      if (head.startsRequest) {
        head.startsRequest = false
        this.#hooks.requestStart()
        if (this.#frozen || this.#stopped) return
      }
      let n = Math.min(head.buf.length, this.#hooks.allowance())
      if (n === 0) return // the connection fires its fault; nothing more moves
      const bucket = this.#shaping.bucket()
      if (bucket !== undefined) {
        const granted = bucket.take(n, now)
        if (granted === 0) return this.#sleep(bucket.waitMs(n, now))
        n = granted
      }
      const piece = n === head.buf.length ? head.buf : head.buf.subarray(0, n)
      if (n === head.buf.length) this.#queue.shift()
      else head.buf = head.buf.subarray(n)
      this.#queuedBytes -= n
      if (dst.destroyed) return
      const ok = dst.write(piece)
      this.#hooks.forwarded(n)
      if (this.#pausedByUs && this.#queuedBytes < HIGH_WATER_BYTES / 2) {
        this.#pausedByUs = false
        this.#src.resume()
      }
      if (this.#frozen || this.#stopped) return
      if (!ok) {
        this.#waitingDrain = true
        dst.once('drain', () => {
          this.#waitingDrain = false
          this.#run()
        })
        return
      }
    }
  }

  #sleep(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#run()
    }, Math.max(1, Math.ceil(ms)))
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
