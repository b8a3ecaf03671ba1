import { TESSERA_READ_SESSION_HEADER } from '@tessera/protocol'
import { join } from 'node:path'
import { EchoCache, FileEchoMap, type EchoCacheStats, type Logger, type ObjectStore, type ObjectStoreOptions, type ReadPlan, type ReadStats } from '@tessera/storage'
import type { LoadReport, RebalanceStatus } from '@tessera/durability'
import type { Request } from 'express'
import { BlockHeat } from './block-heat.js'
import { LoadForecast, type BackendLoad } from './load-forecast.js'
import { Prefetcher, type PrefetcherStats } from './prefetcher.js'
import type { GatewayConfig } from '../config.js'
import type { ReadConfig } from './read-config.js'

/** Request header naming a client's read session (reads correlated for prefetch); default the client's address. */
export const READ_SESSION_HEADER = TESSERA_READ_SESSION_HEADER

/** Time between two `read path` summary log lines (only when something was read). */
const SUMMARY_INTERVAL_MS = 60_000
/** Hot blocks handed to the rebalancing per load window. */
const HOT_BLOCKS = 256

/** Where the read path's load goes to move hot blocks (the gateway's durability side). */
export interface LoadRebalancer {
  /** Takes one window's load report (never throws into the read path). */
  rebalance(load: LoadReport): void
  /** What the moves did; `null` when rebalancing is off. */
  rebalanceStatus(): RebalanceStatus | null
}

/** `GET /_tessera/read`: what the read path did since the gateway started (JSON). */
export interface ReadStatus {
  /** Block reads: blocks needed and read, hedges, reads around failures, per-backend learned latency. */
  readonly reads: ReadStats
  /** The in-memory echo cache; `null` with `--echo-memory 0`. */
  readonly echoes: EchoCacheStats | null
  /** The prefetcher, with `threshold` and `precision` (prefetched blocks used / judged); `null` when off. */
  readonly prefetch: (PrefetcherStats & { readonly threshold: number; readonly precision: number }) | null
  /** Per backend: reads per second, their forecast, busy share and imbalance score (`--load-window` windows, 60 s ahead). */
  readonly load: { readonly horizonMs: number; readonly backends: readonly BackendLoad[] }
  /** Load-predictive rebalancing: moves planned, done, failed, skipped, bytes moved; `null` when off (`--rebalance-threshold 0`). */
  readonly rebalance: RebalanceStatus | null
}

/**
 * The gateway's read path around the object store: hedged reads (storage's), the echo cache of
 * hot blocks (`--echo-memory`) and the prefetcher learning from GETs. Built in two steps like the
 * durability side: {@link storeOptions} go into `ObjectStore.open`, then {@link attach} the store.
 */
export class GatewayReads {
  readonly echoes: EchoCache | undefined
  #store: ObjectStore | undefined
  #prefetcher: Prefetcher | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #loadTimer: ReturnType<typeof setInterval> | undefined
  #lastStripes = 0
  readonly #load = new LoadForecast()
  readonly #heat = new BlockHeat()
  #rebalancer: LoadRebalancer | undefined

  private constructor(
    readonly config: ReadConfig,
    private readonly log: Logger,
    private readonly echoMap: FileEchoMap | undefined,
  ) {
    this.echoes = config.echoMemoryBytes > 0 ? new EchoCache({ maxBytes: config.echoMemoryBytes }) : undefined
  }

  /** Builds the read path of `config`; with echo copies, loads their map from `<dataDir>/meta/echoes`. */
  static async open(config: Pick<GatewayConfig, 'read' | 'dataDir'>, log: Logger): Promise<GatewayReads> {
    const map = config.read.echoBackendCopies > 0 ? await FileEchoMap.open({ dir: join(config.dataDir, 'meta', 'echoes') }) : undefined
    return new GatewayReads(config.read, log, map)
  }

  /** What the object store is opened with for this read path (its block reads feed the heat of the blocks). */
  storeOptions(): Pick<ObjectStoreOptions, 'hedge' | 'echoes' | 'echoCopies' | 'onBlockRead'> {
    return {
      hedge: { enabled: this.config.hedgedReads },
      onBlockRead: (read) => this.#heat.record(read, performance.now()),
      ...(this.echoes && { echoes: this.echoes }),
      ...(this.echoMap && { echoCopies: { map: this.echoMap, copies: this.config.echoBackendCopies } }),
    }
  }

  /**
   * Binds the store opened with {@link storeOptions}; starts learning (prefetch needs echoes). Each
   * load window's forecast and hottest blocks then go to `rebalancer`, when given. Once.
   */
  attach(store: ObjectStore, rebalancer?: LoadRebalancer): void {
    if (this.#store) throw new Error('GatewayReads.attach called twice')
    this.#store = store
    this.#rebalancer = rebalancer
    if (this.config.prefetch && this.echoes) {
      this.#prefetcher = new Prefetcher(store, this.echoes, { threshold: this.config.prefetchThreshold, stripes: this.config.prefetchStripes, now: () => performance.now(), log: this.log })
    }
  }

  /** The `onPlan` of a GET's `store.read`: tells the prefetcher what this request's session read. */
  planListener(req: Request, uploadId: string): ((plan: ReadPlan) => void) | undefined {
    const prefetcher = this.#prefetcher
    if (!prefetcher) return undefined
    const session = (req.get(READ_SESSION_HEADER) ?? '').slice(0, 200) || `addr:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`
    return (plan) => prefetcher.observe(session, uploadId, plan)
  }

  /** JSON for `GET /_tessera/read`. */
  status(): ReadStatus {
    const p = this.#prefetcher
    const echoes = this.echoes?.stats() ?? null
    return {
      reads: this.#storeOrThrow().readStats(),
      echoes,
      prefetch: p && echoes ? { ...p.stats(), threshold: this.config.prefetchThreshold, precision: echoes.prefetchPrecision } : null,
      load: this.#load.snapshot(),
      rebalance: this.#rebalancer?.rebalanceStatus() ?? null,
    }
  }

  /** Logs a `read path` summary every minute in which something was read, and samples the load forecast (idempotent). */
  start(): void {
    if (this.#timer) return
    this.#timer = setInterval(() => this.#summary(), SUMMARY_INTERVAL_MS)
    this.#timer.unref()
    this.sampleLoad()
    this.#loadTimer = setInterval(() => this.sampleLoad(), this.config.loadWindowMs)
    this.#loadTimer.unref()
  }

  /** Closes a load window now (the timer's; exposed for tests) and hands its forecast and the hottest blocks to the rebalancer. */
  sampleLoad(nowMs = performance.now()): void {
    this.#load.sample(nowMs, this.#storeOrThrow().readStats().backends)
    const backends = this.#load.snapshot().backends
    if (!this.#rebalancer || backends.length === 0) return
    this.#rebalancer.rebalance({ backends: backends.map(({ backend, busy, predictedMs }) => ({ backend, busy, predictedMs })), hot: this.#heat.hottest(HOT_BLOCKS, nowMs) })
  }

  /** Stops the summary and waits for running prefetches (before the backends close). */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    clearInterval(this.#loadTimer)
    this.#timer = this.#loadTimer = undefined
    await this.#prefetcher?.settled()
  }

  #summary(): void {
    const { reads, echoes, prefetch, rebalance } = this.status()
    if (reads.stripes === this.#lastStripes) return
    this.#lastStripes = reads.stripes
    this.log.info(
      {
        stripes: reads.stripes,
        hedges: reads.hedges,
        hedgesDenied: reads.hedgesDenied,
        extraReadRatio: reads.extraReadRatio,
        decoded: reads.decoded,
        ...(echoes && { echoHitRate: echoes.hitRate, echoBytes: echoes.bytes }),
        ...(prefetch && { prefetchIssued: prefetch.issued, prefetchPrecision: prefetch.precision }),
        maxImbalance: Math.max(0, ...this.#load.snapshot().backends.map((b) => b.imbalance)),
        ...(rebalance && { movesDone: rebalance.done, movesFailed: rebalance.failed, bytesMoved: rebalance.bytesMoved }),
      },
      'read path',
    )
  }

  #storeOrThrow(): ObjectStore {
    if (!this.#store) throw new Error('GatewayReads.attach was not called')
    return this.#store
  }
}
