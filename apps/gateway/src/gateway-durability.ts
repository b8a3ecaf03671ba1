import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { DurabilityEngine, HealthMonitor, InProcessTaskQueue, type DurabilityStatus, type LoadReport, type RebalanceStatus, type TaskQueue } from '@tessera/durability'
import { ScrubLedger, type Backend, type BlockFault, type Logger, type ObjectStore } from '@tessera/storage'
import type { DurabilityConfig } from './config.js'
import type { LoadRebalancer } from './read/gateway-reads.js'

/** How long a failed background action keeps the health summary `degraded`. */
const RECENT_FAILURE_MS = 15 * 60_000

/** `GET /_tessera/health`: whether the gateway can serve, in one word and a few figures, naming the backends down or at risk (JSON). */
export interface HealthSummary {
  /**
   * `ok`: every backend answers; `degraded`: some backend is down or at risk, or background work
   * failed recently, but stripes can still be written; `unavailable`: fewer backends up than a
   * stripe needs to be written; `stopping`: graceful shutdown under way.
   */
  readonly status: 'ok' | 'degraded' | 'unavailable' | 'stopping'
  /** The process answers (always true when there is an answer). */
  readonly live: true
  /** New uploads can be taken: `status` is `ok` or `degraded`. */
  readonly ready: boolean
  readonly policy: DurabilityStatus['policy']
  /** The engine's timers are armed (false before `start()` and after `stop()`). */
  readonly running: boolean
  readonly backends: {
    readonly total: number
    /** Backends not known to be down. */
    readonly up: number
    /** Blocks of a stripe that must be stored for a write to commit. */
    readonly writeQuorum: number
    /** Ids of backends whose last probe failed or whose last health window saw no success. */
    readonly down: readonly string[]
    /** Ids of backends whose P(unavailable within the horizon) is at or past the migration threshold. */
    readonly atRisk: readonly string[]
  }
  readonly queue: { readonly waiting: number; readonly running: number }
  /** Background actions that failed in the last 15 minutes (details in `GET /_tessera/durability`). */
  readonly recentFailures: number
  /** Objects of the priority list's head whose loss probability is at or past the add-parity threshold. */
  readonly objectsAtRisk: number
}

/**
 * The gateway's side of `@tessera/durability`: a {@link HealthMonitor} whose wrappers the object
 * store uses (so real traffic is observed), a rate-limited task queue, the scrub ledger persisted
 * under the data directory, and the {@link DurabilityEngine} over them. Faults the read path
 * reports go to {@link onFault}. Each engine event is one log line with its reason, written by the
 * engine itself on the logger given here (info for actions and observed faults, warn for failures,
 * debug for skipped ones), so the gateway adds no second line.
 *
 * The read path's load reports go to {@link rebalance} (the engine's load-predictive moves).
 *
 * Built in two steps because the store needs the wrapped backends and the engine needs the store:
 * `open()` wraps, `attach(store)` builds the engine. Background work runs from `start()` to `stop()`.
 */
export class GatewayDurability implements LoadRebalancer {
  readonly health: HealthMonitor
  /** The store's backends, wrapped so every call is observed. */
  readonly backends: readonly Backend[]
  #engine: DurabilityEngine | undefined
  #saving: Promise<void> = Promise.resolve()
  #stopping: Promise<void> | undefined
  /** Between `start()` and `stop()`: kept here so the read path does not build a status per fault. */
  #running = false

  private constructor(
    readonly config: DurabilityConfig,
    readonly ledger: ScrubLedger,
    private readonly log: Logger,
    backends: readonly Backend[],
    private readonly queue: TaskQueue | undefined,
  ) {
    this.health = new HealthMonitor({ sampleIntervalMs: config.healthWindowMs, probeIntervalMs: config.probeIntervalMs, probe: config.probe, logger: log })
    this.backends = backends.map((b) => this.health.wrap(b))
  }

  /**
   * Wraps `backends` and loads the scrub ledger (a missing file is an empty ledger; its directory is created).
   * `queue` replaces the in-process task queue (a cluster's shared one); the engine closes it on `stop()`.
   */
  static async open(config: DurabilityConfig, backends: readonly Backend[], log: Logger, queue?: TaskQueue): Promise<GatewayDurability> {
    await mkdir(dirname(config.scrubLedger), { recursive: true })
    const ledger = await ScrubLedger.open({ file: config.scrubLedger })
    return new GatewayDurability(config, ledger, log, backends, queue)
  }

  /** Builds the engine over `store`, whose backends must be {@link backends}. Once. */
  attach(store: ObjectStore): DurabilityEngine {
    if (this.#engine) throw new Error('GatewayDurability.attach called twice')
    const c = this.config
    const queue = this.queue ?? new InProcessTaskQueue({ concurrency: c.repairConcurrency, bytesPerSecond: c.repairBytesPerSecond, logger: this.log })
    const engine = new DurabilityEngine({
      store,
      health: this.health,
      policy: c.policy,
      queue,
      logger: this.log,
      ledger: this.ledger,
      evaluateIntervalMs: c.evaluateIntervalMs,
      scrubIntervalMs: c.scrubIntervalMs,
      scrubStripesPerPass: c.scrubStripesPerPass,
      maxExtraParity: c.maxExtraParity,
      // The engine wants a positive threshold; 0 (off) is no moves.
      rebalanceThreshold: c.rebalanceThreshold || 1,
      maxRebalanceMoves: c.rebalanceThreshold === 0 ? 0 : c.rebalanceMoves,
      rebalanceCooldownMs: c.rebalanceCooldownMs,
    })
    // The engine records verification times in the ledger; a scrub pass is the moment to persist them.
    engine.onEvent((event) => {
      if (event.action === 'scrub' && event.outcome === 'done') void this.#save()
    })
    this.#engine = engine
    return engine
  }

  get engine(): DurabilityEngine {
    if (!this.#engine) throw new Error('GatewayDurability.attach was not called')
    return this.#engine
  }

  /**
   * The read path's `onFault`: hands the fault to the engine while it runs (a gateway built but
   * not started — tests, embedding — does no background work). Never throws into the read.
   */
  readonly onFault = (fault: BlockFault): void => {
    const engine = this.#engine
    if (!engine || !this.#running) return
    try {
      void engine.onFault(fault)
    } catch (err) {
      this.log.error({ err, fault }, 'a read fault could not be handed to the durability engine')
    }
  }

  /**
   * The read path's load report of a window: handed to the engine's rebalancing while it runs
   * (queued moves run in the background). Never throws into the read path.
   */
  rebalance(load: LoadReport): void {
    const engine = this.#engine
    if (!engine || !this.#running || engine.options.maxRebalanceMoves === 0) return
    engine.rebalance(load).catch((err: unknown) => this.log.error({ err }, 'the read load could not be handed to the rebalancing'))
  }

  /** What the rebalancing moves did (`GET /_tessera/read`); `null` when off (`--rebalance-threshold 0` or `--rebalance-moves 0`). */
  rebalanceStatus(): RebalanceStatus | null {
    const engine = this.#engine
    return engine && engine.options.maxRebalanceMoves > 0 ? engine.rebalanceStatus() : null
  }

  /** Arms probes, evaluations and (unless policy `none`) scrub passes. */
  start(): void {
    this.engine.start()
    this.#running = true
    this.log.info({ policy: this.config.policy, evaluateIntervalMs: this.config.evaluateIntervalMs, probe: this.config.probe, repairBytesPerSecond: this.config.repairBytesPerSecond }, 'durability engine started')
  }

  /** Stops the engine (waiting tasks dropped, running ones finished) and saves the ledger. Idempotent. */
  stop(): Promise<void> {
    this.#running = false
    this.#stopping ??= (async () => {
      if (this.#engine) await this.#engine.stop()
      await this.#save()
    })()
    return this.#stopping
  }

  /** The operator's JSON (`GET /_tessera/durability`). */
  status(): DurabilityStatus {
    return this.engine.status()
  }

  /** The detailed health summary (`GET /_tessera/health`); `GET /_tessera/ready` reads its backend figures (readiness.ts). */
  summary(store: ObjectStore, stopping: boolean): HealthSummary {
    const s = this.engine.status()
    const threshold = this.engine.options.migrateRiskThreshold
    const down = s.backends.filter((b) => b.risk.unavailable || b.lastProbe?.ok === false).map((b) => b.backend)
    const atRisk = s.backends.filter((b) => !down.includes(b.backend) && b.risk.probability >= threshold).map((b) => b.backend)
    const up = s.backends.length - down.length
    const writeQuorum = store.options.writeQuorum
    const recentFailures = s.recent.filter((e) => e.outcome === 'failed' && e.atMs >= s.atMs - RECENT_FAILURE_MS).length
    const status = stopping ? 'stopping' : up < writeQuorum ? 'unavailable' : down.length > 0 || atRisk.length > 0 || recentFailures > 0 ? 'degraded' : 'ok'
    return {
      status,
      live: true,
      ready: status === 'ok' || status === 'degraded',
      policy: s.policy,
      running: s.running,
      backends: { total: s.backends.length, up, writeQuorum, down, atRisk },
      queue: { waiting: s.queue.waiting, running: s.queue.running },
      recentFailures,
      objectsAtRisk: s.priority.filter((p) => p.probability >= this.engine.options.addParityThreshold).length,
    }
  }

  /** Saves the ledger, one save at a time; a failure is logged (losing the ledger only restarts the scrub order). */
  #save(): Promise<void> {
    this.#saving = this.#saving.then(() => this.ledger.save()).catch((err: unknown) => this.log.warn({ err, file: this.config.scrubLedger }, 'scrub ledger not saved'))
    return this.#saving
  }
}
