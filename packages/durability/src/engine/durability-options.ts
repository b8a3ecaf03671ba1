import type { BackendRiskOptions, Forecaster } from '@tessera/predict'
import { silentLogger, type Logger, type ObjectStore, type ScrubLedger } from '@tessera/storage'
import { systemClock, type Clock } from '../clock.js'
import { invalidOption, numberOption } from '../errors.js'
import type { HealthMonitor } from '../health/health-monitor.js'
import type { TaskQueue } from '../queue/task-queue.js'

/**
 * What the engine does on its own:
 * - `none`: nothing (health and risk are still tracked and reported);
 * - `reactive`: regenerate blocks a read ({@link DurabilityEngine.onFault}) or the periodic scrub
 *   finds missing, unreadable or corrupt;
 * - `predictive`: reactive, plus on every evaluation: regenerate blocks on backends found down,
 *   migrate blocks off backends whose risk passes `migrateRiskThreshold`, add parity to objects whose
 *   loss probability passes `addParityThreshold`, drop it back when the risk has passed, and send
 *   stripes on a backend that returned corrupt blocks to the head of the scrub order.
 */
export type DurabilityPolicy = 'none' | 'reactive' | 'predictive'

/** Options of {@link DurabilityEngine}. Times are ms of `clock`. */
export interface DurabilityOptions {
  /** The store to keep durable; its backends must be the monitor's wrappers ({@link HealthMonitor.wrap}). */
  readonly store: ObjectStore
  /** Health of the store's backends. */
  readonly health: HealthMonitor
  /** Default `'predictive'`. */
  readonly policy?: DurabilityPolicy
  /** Where tasks run. Default an {@link InProcessTaskQueue} on `clock` with its defaults. */
  readonly queue?: TaskQueue
  /** Default the health monitor's clock. */
  readonly clock?: Clock
  readonly logger?: Logger
  /** Verification times of stripes (persist it with `ScrubLedger.open({ file })`). Default in memory. */
  readonly ledger?: ScrubLedger
  /** Time between evaluations (risk, priority list, predictive planning), ms. Default 60 000. */
  readonly evaluateIntervalMs?: number
  /** Time between scrub passes, ms. Default 300 000. */
  readonly scrubIntervalMs?: number
  /** Stripes verified per scrub pass, ≥ 1. Default 64. */
  readonly scrubStripesPerPass?: number
  /** Backend risk (P(unavailable within the horizon)) at which its blocks are migrated off, (0, 1]. Default 0.5. */
  readonly migrateRiskThreshold?: number
  /** A backend whose last probe found less than this fraction of its medium free gets no new blocks (placed last). [0, 1). Default 0.05. */
  readonly minFreeFraction?: number
  /** Object loss probability at which it gets one more parity block, (0, 1]. Default 0.001. */
  readonly addParityThreshold?: number
  /** Object loss probability below which added parity may go, [0, addParityThreshold). Default 0.0001. */
  readonly dropParityThreshold?: number
  /** How long the object must stay below `dropParityThreshold` before its extra parity goes, ms. Default the risk horizon. */
  readonly dropParityAfterMs?: number
  /** Parity blocks added above the store's `parityBlocks` at most (also capped by backends − k). Default 2. */
  readonly maxExtraParity?: number
  /** Objects that may carry extra parity at once. Default 1 000. */
  readonly maxBoostedObjects?: number
  /** Tasks planned per evaluation at most (the riskiest first). Default 10 000. */
  readonly maxTasksPerEvaluation?: number
  /** Options of each backend's risk model (horizon, latency/error limits, outage prior). */
  readonly risk?: BackendRiskOptions
  /** Windows a backend's forecasts need before they count (see `RiskTrackerOptions.warmupSamples`). Default 6. */
  readonly riskWarmupSamples?: number
  /** Forecaster factory for the risk models. Default Holt. */
  readonly createForecaster?: () => Forecaster
  /**
   * Imbalance score (busy / mean busy − 1, from the read path's load forecast) above which a
   * backend's hottest blocks move to the least loaded backends ({@link DurabilityEngine.rebalance}), > 0.
   * Default 1: a backend forecast twice as busy as the mean.
   */
  readonly rebalanceThreshold?: number
  /** Rebalancing moves planned per load report at most, ≥ 0; 0 turns rebalancing off. Default 4. */
  readonly maxRebalanceMoves?: number
  /** How long a block planned to move is not planned again, ms (no ping-pong, no move storms). Default 600 000. */
  readonly rebalanceCooldownMs?: number
  /**
   * How long a rebalancing move waits, once committed, for the reads of the object still running
   * on the old manifest before it deletes the old block, ms (`migrateBlock`'s `drainReadsMs`). Default 10 000.
   */
  readonly rebalanceDrainMs?: number
  /** Actions kept for {@link DurabilityEngine.status}. Default 200. */
  readonly recentActions?: number
  /** Entries of the priority list in {@link DurabilityEngine.status}. Default 20. */
  readonly statusTopN?: number
}

/** Defaults of {@link DurabilityOptions}. */
export const defaultDurabilityOptions = Object.freeze({
  policy: 'predictive' as DurabilityPolicy,
  evaluateIntervalMs: 60_000,
  scrubIntervalMs: 300_000,
  scrubStripesPerPass: 64,
  migrateRiskThreshold: 0.5,
  minFreeFraction: 0.05,
  addParityThreshold: 0.001,
  dropParityThreshold: 0.0001,
  maxExtraParity: 2,
  maxBoostedObjects: 1000,
  maxTasksPerEvaluation: 10_000,
  riskWarmupSamples: 6,
  rebalanceThreshold: 1,
  maxRebalanceMoves: 4,
  rebalanceCooldownMs: 600_000,
  rebalanceDrainMs: 10_000,
  recentActions: 200,
  statusTopN: 20,
})

/** Validated options. */
export interface ResolvedDurabilityOptions extends Omit<Required<DurabilityOptions>, 'queue' | 'ledger' | 'risk' | 'createForecaster' | 'dropParityAfterMs'> {
  readonly queue: TaskQueue | undefined
  readonly ledger: ScrubLedger | undefined
  readonly risk: BackendRiskOptions | undefined
  readonly createForecaster: (() => Forecaster) | undefined
  readonly dropParityAfterMs: number | undefined
}

/** Validates and fills defaults; never mutates `options`. @throws DurabilityError `DURABILITY_ERR_INVALID_OPTION`. */
export function resolveDurabilityOptions(options: DurabilityOptions): ResolvedDurabilityOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options)
  const o = { ...defaultDurabilityOptions, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as DurabilityOptions & typeof defaultDurabilityOptions
  if (typeof o.store !== 'object' || o.store === null || typeof (o.store as ObjectStore).read !== 'function') throw invalidOption('store', 'an ObjectStore', o.store)
  if (typeof o.health !== 'object' || o.health === null || typeof (o.health as HealthMonitor).wrap !== 'function') throw invalidOption('health', 'a HealthMonitor', o.health)
  if (!['none', 'reactive', 'predictive'].includes(o.policy)) throw invalidOption('policy', "'none', 'reactive' or 'predictive'", o.policy)
  const addParityThreshold = numberOption('addParityThreshold', o.addParityThreshold, Number.MIN_VALUE, 1)
  const dropParityThreshold = numberOption('dropParityThreshold', o.dropParityThreshold, 0, 1)
  if (dropParityThreshold >= addParityThreshold) throw invalidOption('dropParityThreshold', `a number from 0 to below \`addParityThreshold\` (${addParityThreshold})`, dropParityThreshold)
  return {
    store: o.store,
    health: o.health,
    policy: o.policy,
    queue: o.queue,
    clock: o.clock ?? o.health.options.clock ?? systemClock,
    logger: o.logger ?? silentLogger,
    ledger: o.ledger,
    evaluateIntervalMs: numberOption('evaluateIntervalMs', o.evaluateIntervalMs, 1, Number.MAX_SAFE_INTEGER),
    scrubIntervalMs: numberOption('scrubIntervalMs', o.scrubIntervalMs, 1, Number.MAX_SAFE_INTEGER),
    scrubStripesPerPass: numberOption('scrubStripesPerPass', o.scrubStripesPerPass, 1, 1_000_000, true),
    migrateRiskThreshold: numberOption('migrateRiskThreshold', o.migrateRiskThreshold, Number.MIN_VALUE, 1),
    minFreeFraction: numberOption('minFreeFraction', o.minFreeFraction, 0, 0.999999),
    addParityThreshold,
    dropParityThreshold,
    dropParityAfterMs: o.dropParityAfterMs === undefined ? undefined : numberOption('dropParityAfterMs', o.dropParityAfterMs, 0, Number.MAX_SAFE_INTEGER),
    maxExtraParity: numberOption('maxExtraParity', o.maxExtraParity, 0, 128, true),
    maxBoostedObjects: numberOption('maxBoostedObjects', o.maxBoostedObjects, 0, Number.MAX_SAFE_INTEGER, true),
    maxTasksPerEvaluation: numberOption('maxTasksPerEvaluation', o.maxTasksPerEvaluation, 1, Number.MAX_SAFE_INTEGER, true),
    riskWarmupSamples: numberOption('riskWarmupSamples', o.riskWarmupSamples, 2, 1_000_000, true),
    risk: o.risk,
    createForecaster: o.createForecaster,
    rebalanceThreshold: numberOption('rebalanceThreshold', o.rebalanceThreshold, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER),
    maxRebalanceMoves: numberOption('maxRebalanceMoves', o.maxRebalanceMoves, 0, 10_000, true),
    rebalanceCooldownMs: numberOption('rebalanceCooldownMs', o.rebalanceCooldownMs, 0, Number.MAX_SAFE_INTEGER),
    rebalanceDrainMs: numberOption('rebalanceDrainMs', o.rebalanceDrainMs, 0, Number.MAX_SAFE_INTEGER),
    recentActions: numberOption('recentActions', o.recentActions, 0, 100_000, true),
    statusTopN: numberOption('statusTopN', o.statusTopN, 0, 100_000, true),
  }
}
