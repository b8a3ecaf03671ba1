import type { PriorityEntry } from '@tessera/predict'
import type { BackendHealthSnapshot, IoTotals } from '../health/health-monitor.js'
import type { BackendRiskReport } from '../risk/risk-tracker.js'
import type { DurabilityEvent } from './durability-event.js'
import type { DurabilityPolicy } from './durability-options.js'
import type { RebalanceStatus } from './rebalance-log.js'

/** One backend in {@link DurabilityStatus}. */
export interface BackendStatus extends Omit<BackendHealthSnapshot, 'series'> {
  readonly risk: BackendRiskReport
  /** Blocks the manifests place on it (as of the last evaluation). */
  readonly blocks: number
}

/** {@link DurabilityEngine.status}: the operator's JSON. */
export interface DurabilityStatus {
  readonly policy: DurabilityPolicy
  readonly running: boolean
  readonly atMs: number
  readonly evaluations: number
  readonly lastEvaluationMs: number | null
  readonly objects: number
  readonly backends: readonly BackendStatus[]
  /** The generation-priority list's head: riskiest objects first. */
  readonly priority: readonly (PriorityEntry & { readonly parityBlocks: number })[]
  readonly queue: { readonly waiting: number; readonly running: number; readonly paused: boolean }
  /** Actions per kind and outcome since construction. */
  readonly totals: Readonly<Record<string, Readonly<Record<string, number>>>>
  /** Backend bytes and operations per purpose (foreground, probe, scrub, regenerate, migrate, …). */
  readonly io: IoTotals
  /** The latest actions, newest last. */
  readonly recent: readonly DurabilityEvent[]
  /** Load-predictive rebalancing (fed by the read path's {@link DurabilityEngine.rebalance}). */
  readonly rebalancing: RebalanceStatus
}

/** What one {@link DurabilityEngine.rebalance} did. */
export interface RebalanceReport {
  readonly atMs: number
  /** The largest imbalance score of the report. */
  readonly maxImbalance: number
  /** Moves the plan produced, and how many were new to the queue. */
  readonly planned: number
  readonly queued: number
}

/** What one {@link DurabilityEngine.evaluate} did. */
export interface EvaluationReport {
  readonly atMs: number
  readonly objects: number
  /** Tasks the plan produced, and how many were new to the queue (the rest were deduplicated). */
  readonly planned: number
  readonly queued: number
}
