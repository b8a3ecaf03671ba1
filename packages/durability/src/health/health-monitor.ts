import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { silentLogger, type Backend, type BackendCapacity, type BlockFault, type Logger } from '@tessera/storage'
import { every, systemClock, type Clock } from '../clock.js'
import { DurabilityError, invalidOption, numberOption } from '../errors.js'
import { aggregateWindow, type HealthRecord, type OpRecord } from './health-sample.js'
import { RingSeries } from './health-series.js'
import { runAs, type IoPurpose } from './io-context.js'
import { ObservedBackend, type OpSink } from './observed-backend.js'

/** How an active probe checks a backend. */
export type ProbeMode = 'write' | 'stat' | 'none'

/** Options of {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  /** Time of samples and timers of probes and windows. Default {@link systemClock}. */
  readonly clock?: Clock
  /** Monotonic ms that operation durations are measured with. Default `performance.now`. */
  readonly elapsed?: () => number
  /** Length of one aggregation window (one {@link HealthRecord} per backend), ms. Default 60 000. */
  readonly sampleIntervalMs?: number
  /** Time between active probes of every backend, ms. Default 30 000. */
  readonly probeIntervalMs?: number
  /**
   * `write` (default): put a `probeBytes` block under the reserved prefix `.tessera-probe/`, read it
   * back and compare, delete it — the path repairs write through. `stat`: stat an absent key under
   * that prefix — reachability only, no writes. `none`: passive figures only.
   */
  readonly probe?: ProbeMode
  /** Size of the probe block, bytes, 1…65 536. Default 64. */
  readonly probeBytes?: number
  /** Real-time deadline of each probe step, ms (a stalled backend fails its probe after it). Default 10 000. */
  readonly probeTimeoutMs?: number
  /** Windows kept per backend (the ring's size). Default 720 (12 h of 1-min windows). */
  readonly seriesLength?: number
  /** Operation records kept per window and backend (beyond, the rest are counted but not timed). Default 10 000. */
  readonly maxOpsPerWindow?: number
  readonly logger?: Logger
}

/** {@link HealthMonitorOptions} with defaults filled in. */
export type ResolvedHealthMonitorOptions = Required<HealthMonitorOptions>

/** Defaults of {@link HealthMonitorOptions}. */
export const defaultHealthMonitorOptions = Object.freeze({
  sampleIntervalMs: 60_000,
  probeIntervalMs: 30_000,
  probe: 'write' as ProbeMode,
  probeBytes: 64,
  probeTimeoutMs: 10_000,
  seriesLength: 720,
  maxOpsPerWindow: 10_000,
})

/** Validates and fills defaults; never mutates `options`. @throws DurabilityError `DURABILITY_ERR_INVALID_OPTION`. */
export function resolveHealthMonitorOptions(options: HealthMonitorOptions = {}): ResolvedHealthMonitorOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options)
  const o = { ...defaultHealthMonitorOptions, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as HealthMonitorOptions & typeof defaultHealthMonitorOptions
  if (!['write', 'stat', 'none'].includes(o.probe)) throw invalidOption('probe', "'write', 'stat' or 'none'", o.probe)
  const elapsed = o.elapsed ?? (() => performance.now())
  if (typeof elapsed !== 'function') throw invalidOption('elapsed', 'a function', elapsed)
  const clock = o.clock ?? systemClock
  if (typeof clock?.now !== 'function' || typeof clock.setTimeout !== 'function') throw invalidOption('clock', 'a Clock', clock)
  return Object.freeze({
    clock,
    elapsed,
    sampleIntervalMs: numberOption('sampleIntervalMs', o.sampleIntervalMs, 1, Number.MAX_SAFE_INTEGER),
    probeIntervalMs: numberOption('probeIntervalMs', o.probeIntervalMs, 1, Number.MAX_SAFE_INTEGER),
    probe: o.probe,
    probeBytes: numberOption('probeBytes', o.probeBytes, 1, 65_536, true),
    probeTimeoutMs: numberOption('probeTimeoutMs', o.probeTimeoutMs, 1, Number.MAX_SAFE_INTEGER),
    seriesLength: numberOption('seriesLength', o.seriesLength, 1, 1_000_000, true),
    maxOpsPerWindow: numberOption('maxOpsPerWindow', o.maxOpsPerWindow, 1, 10_000_000, true),
    logger: o.logger ?? silentLogger,
  })
}

/** Bytes and operations per purpose since the monitor was created. */
export type IoTotals = Record<IoPurpose, { ops: number; bytesRead: number; bytesWritten: number }>

/** What one probe found. */
export interface ProbeResult {
  readonly backend: string
  readonly ok: boolean
  /** Storage error code of the step that failed, or `STORAGE_ERR_CORRUPT` when the read-back differed. */
  readonly code?: string
}

/** The operator's view of one backend's health (JSON). */
export interface BackendHealthSnapshot {
  readonly backend: string
  readonly latest: HealthRecord | null
  readonly lastProbe: (ProbeResult & { readonly tMs: number }) | null
  /** Space on the medium at the last probe; `null` before one, fields `null` when the backend cannot tell. */
  readonly capacity: { readonly totalBytes: number | null; readonly freeBytes: number | null } | null
  /** The newest windows, oldest first (as many as asked for). */
  readonly series: readonly HealthRecord[]
}

/** {@link HealthMonitor.snapshot}: JSON for an operator endpoint. */
export interface HealthSnapshot {
  readonly atMs: number
  readonly sampleIntervalMs: number
  readonly backends: readonly BackendHealthSnapshot[]
  readonly io: IoTotals
}

interface BackendState {
  readonly backend: ObservedBackend
  readonly series: RingSeries<HealthRecord>
  ops: OpRecord[]
  corrupt: number
  windowStart: number
  capacity: BackendCapacity | undefined
  lastProbe: (ProbeResult & { tMs: number }) | undefined
}

const PROBE_PREFIX = '.tessera-probe/'

/**
 * Health per backend: passive figures from every call through the backends it wraps
 * ({@link HealthMonitor.wrap}), active probes on an interval, capacity when the backend reports
 * it — aggregated per window into {@link HealthRecord}s (median latency, error rate, availability,
 * throughput) kept in a fixed-size ring per backend. Listeners get each record as it closes (the
 * risk model's input). The constructor does no I/O; `start()` arms the timers.
 */
export class HealthMonitor implements OpSink {
  readonly options: ResolvedHealthMonitorOptions
  readonly #backends = new Map<string, BackendState>()
  readonly #listeners = new Set<(backend: string, record: HealthRecord) => void>()
  readonly #windowListeners = new Set<(records: ReadonlyMap<string, HealthRecord>) => void>()
  readonly #io: IoTotals = emptyTotals()
  #stops: (() => void)[] = []
  #probeSeq = 0

  /** @throws DurabilityError `DURABILITY_ERR_INVALID_OPTION`. */
  constructor(options: HealthMonitorOptions = {}) {
    this.options = resolveHealthMonitorOptions(options)
  }

  /**
   * Wraps `backend` so its calls are observed; use the wrapper wherever the backend is used (the
   * object store's `backends`). @throws DurabilityError `DURABILITY_ERR_INVALID_ARGUMENT` for a
   * duplicate id.
   */
  wrap(backend: Backend): ObservedBackend {
    if (typeof backend !== 'object' || backend === null || typeof backend.id !== 'string') throw new DurabilityError('DURABILITY_ERR_INVALID_ARGUMENT', 'Expected `backend` to be a Backend')
    if (this.#backends.has(backend.id)) throw new DurabilityError('DURABILITY_ERR_INVALID_ARGUMENT', `backend ${JSON.stringify(backend.id)} is already monitored`)
    const observed = new ObservedBackend(backend, this)
    this.#backends.set(backend.id, { backend: observed, series: new RingSeries(this.options.seriesLength), ops: [], corrupt: 0, windowStart: this.options.clock.now(), capacity: undefined, lastProbe: undefined })
    return observed
  }

  /** Ids of the monitored backends, in wrapping order. */
  get backendIds(): string[] {
    return [...this.#backends.keys()]
  }

  /** Monotonic ms for durations (see {@link HealthMonitorOptions.elapsed}). */
  elapsed(): number {
    return this.options.elapsed()
  }

  /** Records one operation (the wrappers call this; exposed for figures from elsewhere). */
  record(backendId: string, op: OpRecord, purpose: IoPurpose = 'foreground'): void {
    const state = this.#state(backendId)
    if (state.ops.length < this.options.maxOpsPerWindow) state.ops.push(op)
    const io = this.#io[purpose]
    io.ops++
    io.bytesRead += op.bytesRead ?? 0
    io.bytesWritten += op.bytesWritten ?? 0
  }

  /**
   * Counts a block found corrupt (a read's or scrub's checksum mismatch) against its backend: it
   * answered, but wrongly, so it is an error of the window. Faults of other kinds were already
   * counted as failed operations. Unknown backends are ignored.
   */
  recordFault(fault: Pick<BlockFault, 'backend' | 'kind'>): void {
    if (fault.kind !== 'corrupt' || fault.backend === null) return
    const state = this.#backends.get(fault.backend)
    if (state) state.corrupt++
  }

  /** Closes every backend's current window now and returns the new records (also to listeners). */
  sample(): Map<string, HealthRecord> {
    const now = this.options.clock.now()
    const out = new Map<string, HealthRecord>()
    for (const [id, s] of this.#backends) {
      const record = aggregateWindow(s.ops, s.corrupt, now, now - s.windowStart, s.series.latest(), s.capacity)
      s.ops = []
      s.corrupt = 0
      s.windowStart = now
      s.series.push(record)
      out.set(id, record)
      for (const listener of this.#listeners) listener(id, record)
    }
    for (const listener of this.#windowListeners) listener(out)
    return out
  }

  /** Calls `listener(records)` once per closed window with every backend's record (what a cross-backend view needs). Returns an unsubscribe function. */
  onWindow(listener: (records: ReadonlyMap<string, HealthRecord>) => void): () => void {
    this.#windowListeners.add(listener)
    return () => this.#windowListeners.delete(listener)
  }

  /** Calls `listener(backendId, record)` for every closed window. Returns an unsubscribe function. */
  onSample(listener: (backend: string, record: HealthRecord) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Probes every backend now (in parallel), counting each step as an operation of the window. */
  async probeAll(): Promise<ProbeResult[]> {
    return Promise.all(this.backendIds.map((id) => this.probe(id)))
  }

  /** Probes one backend now (see {@link HealthMonitorOptions.probe}). Never rejects. */
  async probe(backendId: string): Promise<ProbeResult> {
    const state = this.#state(backendId)
    const b = state.backend
    const mode = this.options.probe
    const timeout = (): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(this.options.probeTimeoutMs) })
    const result = await runAs('probe', async (): Promise<ProbeResult> => {
      try {
        if (mode === 'write') {
          const key = `${PROBE_PREFIX}p${this.#probeSeq++}-${randomBytes(4).toString('hex')}`
          const body = randomBytes(this.options.probeBytes)
          await b.put(key, body, timeout())
          const back = await b.read(key, timeout())
          await b.delete(key, timeout()).catch(() => undefined)
          if (Buffer.compare(Buffer.from(back), body) !== 0) {
            state.corrupt++
            return { backend: backendId, ok: false, code: 'STORAGE_ERR_CORRUPT' }
          }
        } else if (mode === 'stat') {
          await b.stat(`${PROBE_PREFIX}absent`, timeout())
        }
        if (mode !== 'none') {
          try {
            state.capacity = await b.capacity(timeout())
          } catch {
            // Capacity is optional information; the probe itself succeeded.
          }
        }
        return { backend: backendId, ok: true }
      } catch (err) {
        return { backend: backendId, ok: false, code: (err as { code?: string }).code ?? 'UNKNOWN' }
      }
    })
    state.lastProbe = { ...result, tMs: this.options.clock.now() }
    if (!result.ok) this.options.logger.warn({ backend: backendId, code: result.code }, 'health probe failed')
    return result
  }

  /** The windows kept for a backend, oldest first. @throws DurabilityError `DURABILITY_ERR_UNKNOWN_BACKEND`. */
  series(backendId: string): HealthRecord[] {
    return this.#state(backendId).series.toArray()
  }

  /** The newest window of a backend, if any closed yet. @throws DurabilityError `DURABILITY_ERR_UNKNOWN_BACKEND`. */
  latest(backendId: string): HealthRecord | undefined {
    return this.#state(backendId).series.latest()
  }

  /** Bytes and operations per purpose so far (a copy). */
  io(): IoTotals {
    return structuredClone(this.#io)
  }

  /** JSON for operators: per backend the latest window, last probe, capacity and the newest `seriesLength` windows (default 0). */
  snapshot(options: { seriesLength?: number } = {}): HealthSnapshot {
    const n = options.seriesLength ?? 0
    return {
      atMs: this.options.clock.now(),
      sampleIntervalMs: this.options.sampleIntervalMs,
      backends: [...this.#backends].map(([id, s]) => ({
        backend: id,
        latest: s.series.latest() ?? null,
        lastProbe: s.lastProbe ?? null,
        capacity: s.capacity ? { totalBytes: s.capacity.totalBytes ?? null, freeBytes: s.capacity.freeBytes ?? null } : null,
        series: n > 0 ? s.series.toArray().slice(-n) : [],
      })),
      io: this.io(),
    }
  }

  /** Arms the probe and window timers (idempotent). */
  start(): void {
    if (this.#stops.length > 0) return
    const onError = (err: unknown): void => this.options.logger.error({ err }, 'health timer failed')
    if (this.options.probe !== 'none') this.#stops.push(every(this.options.clock, this.options.probeIntervalMs, async () => void (await this.probeAll()), onError))
    this.#stops.push(every(this.options.clock, this.options.sampleIntervalMs, async () => void this.sample(), onError))
  }

  /** Disarms the timers (idempotent). */
  stop(): void {
    for (const stop of this.#stops) stop()
    this.#stops = []
  }

  #state(backendId: string): BackendState {
    const state = this.#backends.get(backendId)
    if (!state) throw new DurabilityError('DURABILITY_ERR_UNKNOWN_BACKEND', `backend ${JSON.stringify(backendId)} is not monitored`)
    return state
  }
}

function emptyTotals(): IoTotals {
  const z = () => ({ ops: 0, bytesRead: 0, bytesWritten: 0 })
  return { foreground: z(), probe: z(), scrub: z(), regenerate: z(), migrate: z(), 'add-parity': z(), 'drop-parity': z(), rebalance: z() }
}
