import type { Readable } from 'node:stream'
import { Transform, pipeline } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import { abortedError, raceAbort, throwIfAborted } from './abort.js'
import { supportsSegments, type Backend, type BackendCallOptions, type BackendCapacity, type BlockBody, type BlockStat, type SegmentBackend, type SegmentWriter } from './backend.js'
import { assertBlockKey, assertBlockKeyPrefix } from './block-key.js'
import { StorageError } from './errors.js'
import { invalidOption } from './invalid-option.js'

/** The operations of {@link Backend}, to aim faults at some of them. */
export type BackendOp = 'put' | 'get' | 'read' | 'delete' | 'stat' | 'list' | 'capacity'

/** Codes an injected error may carry. */
export type InjectedErrorCode = 'STORAGE_ERR_UNAVAILABLE' | 'STORAGE_ERR_IO' | 'STORAGE_ERR_TIMEOUT'

/** A latency drawn uniformly from `min` to `max` milliseconds (`0 <= min <= max`). */
export interface LatencyRange {
  readonly min: number
  readonly max: number
}

/** The faults a {@link FaultyBackend} injects; all can change at runtime with `setFaults`. */
export interface Faults {
  /** Delay added before each targeted op, in ms: fixed, or uniform in a range. Default `0`. */
  readonly latencyMs: number | LatencyRange
  /** Probability (0..1) that a targeted op rejects with one of `errorCodes` instead of running. Default `0`. */
  readonly errorRate: number
  /** Codes of injected errors, one picked at random per error. Default UNAVAILABLE and IO. */
  readonly errorCodes: readonly InjectedErrorCode[]
  /** Probability (0..1) that a targeted op never settles until its signal aborts (then `STORAGE_ERR_ABORTED`). Default `0`. */
  readonly stallRate: number
  /** Probability (0..1) that `get`/`read` return the block with one byte flipped (same length). Default `0`. */
  readonly corruptRate: number
  /** When true every op (targeted or not) rejects `STORAGE_ERR_UNAVAILABLE`, as if the backend vanished. Default `false`. */
  readonly gone: boolean
  /** Ops that latency, errors, stalls and corruption apply to (`gone` hits all). Default all. */
  readonly ops: readonly BackendOp[]
}

/** Waits `ms` milliseconds; rejects (any error) when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>

/** Options of {@link FaultyBackend}: the initial {@link Faults} plus what cannot change later. */
export interface FaultyBackendOptions extends Partial<Faults> {
  /** Id the wrapper reports. Default: the inner backend's id, so it can stand in for it. */
  readonly id?: string
  /** Seed (an integer) of the mulberry32 PRNG behind every fault decision. Default `1`. */
  readonly seed?: number
  /** How latency is waited out; inject a fake for simulated time. Default: real timers. */
  readonly sleep?: Sleep
}

/** What a {@link FaultyBackend} has done so far. */
export interface FaultStats {
  /** Calls received (valid keys only). */
  readonly ops: number
  /** Ops rejected by an injected error or by `gone`. */
  readonly errors: number
  /** Ops stalled. */
  readonly stalls: number
  /** Blocks returned with a flipped byte. */
  readonly corruptions: number
  /** Injected latency in total, in ms (simulated when `sleep` is fake). */
  readonly delayedMs: number
}

const ALL_OPS: readonly BackendOp[] = Object.freeze(['put', 'get', 'read', 'delete', 'stat', 'list', 'capacity'])
const ERROR_CODES: readonly InjectedErrorCode[] = Object.freeze(['STORAGE_ERR_UNAVAILABLE', 'STORAGE_ERR_IO', 'STORAGE_ERR_TIMEOUT'])

/** No faults: a {@link FaultyBackend} with these defaults behaves exactly like its inner backend. */
export const defaultFaults: Faults = Object.freeze({
  latencyMs: 0,
  errorRate: 0,
  errorCodes: Object.freeze(['STORAGE_ERR_UNAVAILABLE', 'STORAGE_ERR_IO'] as const),
  stallRate: 0,
  corruptRate: 0,
  gone: false,
  ops: ALL_OPS,
})

/**
 * Validates the fault fields of `partial` and merges them over `base`; never mutates either.
 *
 * @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` naming the option, the expected and the actual value.
 */
export function resolveFaults(partial: Partial<Faults>, base: Faults = defaultFaults): Faults {
  const merged = { ...base }
  if (partial.latencyMs !== undefined) merged.latencyMs = checkLatency(partial.latencyMs)
  if (partial.errorRate !== undefined) merged.errorRate = checkRate('errorRate', partial.errorRate)
  if (partial.stallRate !== undefined) merged.stallRate = checkRate('stallRate', partial.stallRate)
  if (partial.corruptRate !== undefined) merged.corruptRate = checkRate('corruptRate', partial.corruptRate)
  if (partial.gone !== undefined) {
    if (typeof partial.gone !== 'boolean') throw invalidOption('gone', 'a boolean', partial.gone)
    merged.gone = partial.gone
  }
  if (partial.errorCodes !== undefined) merged.errorCodes = checkList('errorCodes', partial.errorCodes, ERROR_CODES, 1)
  if (partial.ops !== undefined) merged.ops = checkList('ops', partial.ops, ALL_OPS, 0)
  return Object.freeze(merged)
}

/**
 * A {@link Backend} wrapper that injects faults decided by a seeded PRNG: latency, errors,
 * stalls, corrupt reads, or a backend that is gone. For tests and simulators; with no faults it
 * is a transparent pass-through (it runs the same conformance suite).
 *
 * Determinism: every call draws the same number of random values in call order, so the same
 * seed, faults and sequence of calls give the same faults. Keys are validated first
 * (`STORAGE_ERR_INVALID_KEY`), then the signal (`STORAGE_ERR_ABORTED`), then `gone`, latency,
 * stall, error and finally the inner call. A stalled op without a signal never settles — as a
 * real stalled backend would not; give calls a deadline.
 */
export class FaultyBackend implements Backend {
  /** The id this wrapper reports (see {@link FaultyBackendOptions.id}). */
  readonly id: string
  /** The wrapped backend; calls to it bypass the faults. */
  readonly inner: Backend
  readonly #random: () => number
  readonly #sleep: Sleep
  #faults: Faults
  #stats = { ops: 0, errors: 0, stalls: 0, corruptions: 0, delayedMs: 0 }
  /** Present when `inner` packs blocks into segments: creation and each write count as `put`. */
  readonly createSegment?: (key: string, options?: BackendCallOptions) => Promise<SegmentWriter>
  /** Present with `createSegment`: counts as `read`, and may be corrupted like one. */
  readonly readRange?: (key: string, offset: number, length: number, options?: BackendCallOptions) => Promise<Uint8Array>

  /** @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` for an invalid option. */
  constructor(inner: Backend, options: FaultyBackendOptions = {}) {
    if (typeof inner !== 'object' || inner === null) throw invalidOption('inner', 'a Backend', inner)
    const { id = inner.id, seed = 1, sleep = realSleep, ...faults } = options
    if (typeof id !== 'string' || id === '') throw invalidOption('id', 'a non-empty string', id)
    if (!Number.isSafeInteger(seed)) throw invalidOption('seed', 'an integer', seed)
    if (typeof sleep !== 'function') throw invalidOption('sleep', 'a function', sleep)
    this.id = id
    this.inner = inner
    this.#random = mulberry32(seed)
    this.#sleep = sleep
    this.#faults = resolveFaults(faults)
    if (supportsSegments(inner)) {
      this.createSegment = (key, opts) => this.#createSegment(inner, key, opts)
      this.readRange = (key, offset, length, opts) => this.#readRange(inner, key, offset, length, opts)
    }
  }

  /** The faults in force. */
  get faults(): Faults {
    return this.#faults
  }

  /** Counters since construction (a snapshot). */
  get stats(): FaultStats {
    return { ...this.#stats }
  }

  /**
   * Changes some faults from the next call on; calls already past their fault decision are not
   * affected. @throws StorageError `STORAGE_ERR_INVALID_ARGUMENT` (and then changes nothing).
   */
  setFaults(partial: Partial<Faults>): void {
    this.#faults = resolveFaults(partial, this.#faults)
  }

  /** See {@link Backend.put}. */
  async put(key: string, body: BlockBody, options: BackendCallOptions = {}): Promise<{ readonly bytes: number }> {
    assertBlockKey(key)
    await this.#inject('put', key, options.signal)
    return this.inner.put(key, body, options)
  }

  /** See {@link Backend.get}. With corruption, one byte of the first non-empty chunk is flipped. */
  async get(key: string, options: BackendCallOptions = {}): Promise<Readable> {
    assertBlockKey(key)
    const corrupt = await this.#inject('get', key, options.signal)
    const stream = await this.inner.get(key, options)
    return corrupt ? this.#corruptStream(stream, corrupt) : stream
  }

  /** See {@link Backend.read}. */
  async read(key: string, options: BackendCallOptions = {}): Promise<Uint8Array> {
    assertBlockKey(key)
    const corrupt = await this.#inject('read', key, options.signal)
    const bytes = await this.inner.read(key, options)
    if (!corrupt || bytes.byteLength === 0) return bytes
    const altered = Uint8Array.from(bytes)
    flip(altered, corrupt)
    this.#stats.corruptions++
    return altered
  }

  /** See {@link Backend.delete}. */
  async delete(key: string, options: BackendCallOptions = {}): Promise<void> {
    assertBlockKey(key)
    await this.#inject('delete', key, options.signal)
    return this.inner.delete(key, options)
  }

  /** See {@link Backend.stat}. */
  async stat(key: string, options: BackendCallOptions = {}): Promise<BlockStat | undefined> {
    assertBlockKey(key)
    await this.#inject('stat', key, options.signal)
    return this.inner.stat(key, options)
  }

  /** See {@link Backend.list}. Faults strike before the first key. */
  async *list(prefix: string, options: BackendCallOptions = {}): AsyncIterable<string> {
    assertBlockKeyPrefix(prefix)
    await this.#inject('list', prefix, options.signal)
    yield* this.inner.list(prefix, options)
  }

  /** See {@link Backend.capacity}. */
  async capacity(options: BackendCallOptions = {}): Promise<BackendCapacity> {
    await this.#inject('capacity', undefined, options.signal)
    return this.inner.capacity(options)
  }

  async #createSegment(inner: SegmentBackend, key: string, options: BackendCallOptions = {}): Promise<SegmentWriter> {
    assertBlockKey(key)
    await this.#inject('put', key, options.signal)
    const writer = await inner.createSegment(key, options)
    return {
      write: async (offset, bytes, opts = {}) => {
        await this.#inject('put', key, opts.signal)
        return writer.write(offset, bytes, opts)
      },
      close: () => writer.close(),
    }
  }

  async #readRange(inner: SegmentBackend, key: string, offset: number, length: number, options: BackendCallOptions = {}): Promise<Uint8Array> {
    assertBlockKey(key)
    const corrupt = await this.#inject('read', key, options.signal)
    const bytes = await inner.readRange(key, offset, length, options)
    if (!corrupt || bytes.byteLength === 0) return bytes
    const altered = Uint8Array.from(bytes)
    flip(altered, corrupt)
    this.#stats.corruptions++
    return altered
  }

  // Decides and applies this call's faults; resolves with where to corrupt, if at all.
  async #inject(op: BackendOp, key: string | undefined, signal: AbortSignal | undefined): Promise<Corruption | undefined> {
    // Always draw the same count, so one fault's rate does not shift the others' sequence.
    const [uLatency, uStall, uError, uCode, uCorrupt, uPosition, uMask] = Array.from({ length: 7 }, this.#random) as Draws
    const faults = this.#faults
    const what = `${op}${key === undefined ? '' : ` ${JSON.stringify(key)}`} on ${this.id}`
    this.#stats.ops++
    throwIfAborted(signal, what)
    if (faults.gone) {
      this.#stats.errors++
      throw new StorageError('STORAGE_ERR_UNAVAILABLE', `${what} failed: backend is gone (injected)`)
    }
    if (!faults.ops.includes(op)) return undefined
    const latency = typeof faults.latencyMs === 'number' ? faults.latencyMs : faults.latencyMs.min + uLatency * (faults.latencyMs.max - faults.latencyMs.min)
    if (latency > 0) {
      this.#stats.delayedMs += latency
      await raceAbort(this.#sleep(latency, signal), signal, what)
    }
    if (uStall < faults.stallRate) {
      this.#stats.stalls++
      await stallUntilAborted(signal, what)
    }
    if (uError < faults.errorRate) {
      this.#stats.errors++
      const code = faults.errorCodes[Math.floor(uCode * faults.errorCodes.length)] ?? 'STORAGE_ERR_UNAVAILABLE'
      throw new StorageError(code, `${what} failed: injected ${code}`)
    }
    if ((op === 'get' || op === 'read') && uCorrupt < faults.corruptRate) {
      return { at: uPosition, mask: 1 + Math.floor(uMask * 255) }
    }
    return undefined
  }

  #corruptStream(source: Readable, corrupt: Corruption): Readable {
    let pending = true
    const onCorrupt = (): void => {
      this.#stats.corruptions++
    }
    const altered = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        if (!pending || chunk.byteLength === 0) return callback(null, chunk)
        pending = false
        const copy = Buffer.from(chunk)
        flip(copy, corrupt)
        onCorrupt()
        callback(null, copy)
      },
    })
    pipeline(source, altered, () => {}) // errors reach `altered` through pipeline's destroy
    return altered
  }
}

type Draws = [number, number, number, number, number, number, number]

/** Where to flip: `at` in [0, 1) scales to a byte index; `mask` in 1..255 is XORed in. */
interface Corruption {
  readonly at: number
  readonly mask: number
}

function flip(bytes: Uint8Array, { at, mask }: Corruption): void {
  const index = Math.floor(at * bytes.byteLength)
  bytes[index] = (bytes[index] ?? 0) ^ mask
}

function stallUntilAborted(signal: AbortSignal | undefined, what: string): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    signal?.addEventListener('abort', () => reject(abortedError(signal, what)), { once: true })
  })
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : {})
}

// mulberry32: a tiny, fast 32-bit PRNG; plenty for fault decisions, and reproducible by seed.
function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function checkRate(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw invalidOption(name, 'a number from 0 to 1', value)
  return value
}

function checkLatency(value: unknown): number | LatencyRange {
  const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0
  if (typeof value === 'object' && value !== null) {
    const { min, max } = value as Partial<LatencyRange>
    if (!isMs(min)) throw invalidOption('latencyMs.min', 'a number from 0 and up', min)
    if (!isMs(max) || max < min) throw invalidOption('latencyMs.max', `a number from \`latencyMs.min\` (${min}) and up`, max)
    return Object.freeze({ min, max })
  }
  if (!isMs(value)) throw invalidOption('latencyMs', typeof value === 'number' ? 'a number from 0 and up' : 'a number from 0 and up, or { min, max }', value)
  return value
}

function checkList<T extends string>(name: string, value: unknown, allowed: readonly T[], minLength: number): readonly T[] {
  const expected = `${minLength > 0 ? 'a non-empty array' : 'an array'} of ${allowed.map((a) => `'${a}'`).join(', ')}`
  if (!Array.isArray(value) || value.length < minLength || !value.every((v) => allowed.includes(v as T))) {
    throw invalidOption(name, expected, value)
  }
  return Object.freeze([...value] as T[])
}
