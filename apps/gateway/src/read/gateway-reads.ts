import { TESSERA_READ_SESSION_HEADER } from '@tessera/protocol'
import { join } from 'node:path'
import { EchoCache, FileEchoMap, type EchoCacheStats, type Logger, type ObjectStore, type ObjectStoreOptions, type ReadPlan, type ReadStats } from '@tessera/storage'
import type { Request } from 'express'
import { LoadForecast, type BackendLoad } from './load-forecast.js'
import { Prefetcher, type PrefetcherStats } from './prefetcher.js'
import type { GatewayConfig } from '../config.js'
import type { ReadConfig } from './read-config.js'

/** Request header naming a client's read session (reads correlated for prefetch); default the client's address. */
export const READ_SESSION_HEADER = TESSERA_READ_SESSION_HEADER

/** Time between two `read path` summary log lines (only when something was read). */
const SUMMARY_INTERVAL_MS = 60_000
/** Window of the per-backend load forecast. */
const LOAD_WINDOW_MS = 10_000

/** `GET /_tessera/read`: what the read path did since the gateway started (JSON). */
export interface ReadStatus {
  /** Block reads: blocks needed and read, hedges, reads around failures, per-backend learned latency. */
  readonly reads: ReadStats
  /** The in-memory echo cache; `null` with `--echo-memory 0`. */
  readonly echoes: EchoCacheStats | null
  /** The prefetcher, with `threshold` and `precision` (prefetched blocks used / judged); `null` when off. */
  readonly prefetch: (PrefetcherStats & { readonly threshold: number; readonly precision: number }) | null
  /** Per backend: reads per second, their forecast, busy share and imbalance score (10 s windows, 60 s ahead). */
  readonly load: { readonly horizonMs: number; readonly backends: readonly BackendLoad[] }
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

  /** What the object store is opened with for this read path. */
  storeOptions(): Pick<ObjectStoreOptions, 'hedge' | 'echoes' | 'echoCopies'> {
    return {
      hedge: { enabled: this.config.hedgedReads },
      ...(this.echoes && { echoes: this.echoes }),
      ...(this.echoMap && { echoCopies: { map: this.echoMap, copies: this.config.echoBackendCopies } }),
    }
  }

  /** Binds the store opened with {@link storeOptions}; starts learning (prefetch needs echoes). Once. */
  attach(store: ObjectStore): void {
    if (this.#store) throw new Error('GatewayReads.attach called twice')
    this.#store = store
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
    }
  }

  /** Logs a `read path` summary every minute in which something was read, and samples the load forecast (idempotent). */
  start(): void {
    if (this.#timer) return
    this.#timer = setInterval(() => this.#summary(), SUMMARY_INTERVAL_MS)
    this.#timer.unref()
    this.sampleLoad()
    this.#loadTimer = setInterval(() => this.sampleLoad(), LOAD_WINDOW_MS)
    this.#loadTimer.unref()
  }

  /** Closes a load window now (the timer's; exposed for tests). */
  sampleLoad(nowMs = performance.now()): void {
    this.#load.sample(nowMs, this.#storeOrThrow().readStats().backends)
  }

  /** Stops the summary and waits for running prefetches (before the backends close). */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    clearInterval(this.#loadTimer)
    this.#timer = this.#loadTimer = undefined
    await this.#prefetcher?.settled()
  }

  #summary(): void {
    const { reads, echoes, prefetch } = this.status()
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
      },
      'read path',
    )
  }

  #storeOrThrow(): ObjectStore {
    if (!this.#store) throw new Error('GatewayReads.attach was not called')
    return this.#store
  }
}
