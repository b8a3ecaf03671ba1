import type { Manifest } from '@tessera/storage'
import { invalidArgument } from '../errors.js'
import type { TaskDescriptor } from '../queue/task-queue.js'
import { PRIORITY } from './plan.js'

/** One backend's forecast read load, as the read path measures it (the gateway's `LoadForecast`). */
export interface BackendLoadReading {
  readonly backend: string
  /** Forecast busy share: seconds of reading per second (forecast reads/s × predicted latency). ≥ 0. */
  readonly busy: number
  /** Latency the read path predicts for the backend's next block read, ms. ≥ 0. */
  readonly predictedMs: number
}

/** A block that loads its backend: reads of it started there per second (decayed), as the read path counts them. */
export interface HotBlock {
  readonly objectId: string
  readonly stripe: number
  readonly block: number
  /** Where those reads went; the block is only moved while the manifest still places it there. */
  readonly backend: string
  /** Block reads per second started on `backend` (echo hits excluded). > 0. */
  readonly readsPerSecond: number
}

/** The read path's load, input of {@link DurabilityEngine.rebalance}. */
export interface LoadReport {
  /** Every backend's forecast load (a backend missing here is not moved to). */
  readonly backends: readonly BackendLoadReading[]
  /** The hottest blocks, any order. */
  readonly hot: readonly HotBlock[]
}

/** What {@link planRebalance} needs besides the load. */
export interface RebalancePlanInput {
  readonly load: LoadReport
  /** Live manifests of the hot blocks' objects. */
  readonly manifests: ReadonlyMap<string, Manifest>
  /** Backends no block may move to: down, at risk, short of space. */
  readonly ineligible: ReadonlySet<string>
  /** Blocks (`objectId:stripe:block`) that moved or were planned recently: not planned again. */
  readonly cooling: ReadonlySet<string>
  /**
   * Backends a move was planned onto recently: they give up no block meanwhile. The projection
   * shifts a block's reads at their rate when planned, and a block read harder once it moved (the
   * measured rate lags: heat counts reads as they happen) could push its new backend past the
   * threshold — which then gave up other blocks (a cascade seen under load in
   * rebalance-restart.test.ts). A target does not become the next source.
   */
  readonly receiving: ReadonlySet<string>
  /** Imbalance score (busy / mean busy − 1) above which a backend gives up hot blocks. > 0. */
  readonly threshold: number
  /** Moves planned at most. */
  readonly maxMoves: number
}

/** The key of a block in {@link RebalancePlanInput.cooling}. */
export function blockKey(objectId: string, stripe: number, block: number): string {
  return `${objectId}:${stripe}:${block}`
}

/** Imbalance score of a busy share against the mean (0 when nothing is read). */
export function imbalanceOf(busy: number, mean: number): number {
  return mean > 0 ? busy / mean - 1 : 0
}

/** Mean busy share of the backends of a report. */
export function meanBusy(load: LoadReport): number {
  return load.backends.reduce((sum, b) => sum + b.busy, 0) / Math.max(1, load.backends.length)
}

/**
 * Load-predictive rebalancing's plan (seed 002): hottest block first, a block whose backend's
 * imbalance score is above `threshold` moves to the least loaded eligible backend that holds no
 * block of its stripe. Each move shifts its reads in the projection (its reads/s × the backends'
 * predicted latencies), so a backend stops giving up blocks once projected at or below the
 * threshold, and a target takes a block only if it stays projected at or below half the
 * threshold — the band between the two is the hysteresis; and a backend planned as a target gives
 * up nothing until its cooldown ends, in this round or the next (`receiving`), so a target never
 * becomes the next source (and a moved block does not move straight back: per block there is also
 * the cooldown).
 * Pure: the engine queues the tasks (`rebalance`, priority below every durability task).
 */
export function planRebalance(input: RebalancePlanInput): TaskDescriptor[] {
  const mean = meanBusy(input.load)
  if (mean <= 0 || input.maxMoves <= 0) return []
  const busy = new Map(input.load.backends.map((b) => [b.backend, b.busy]))
  const latency = new Map(input.load.backends.map((b) => [b.backend, b.predictedMs]))
  const hot = [...input.load.hot].sort((a, b) => b.readsPerSecond - a.readsPerSecond)
  const tasks: TaskDescriptor[] = []
  const receiving = new Set(input.receiving)
  for (const h of hot) {
    if (tasks.length >= input.maxMoves) break
    const stripe = input.manifests.get(h.objectId)?.stripes[h.stripe]
    const ref = stripe?.blocks[h.block]
    const from = busy.get(h.backend)
    if (!stripe || !ref || ref.backend !== h.backend || from === undefined || receiving.has(h.backend)) continue
    const imbalance = imbalanceOf(from, mean)
    if (imbalance <= input.threshold || input.cooling.has(blockKey(h.objectId, h.stripe, h.block))) continue
    const inStripe = new Set(stripe.blocks.map((b) => b?.backend))
    const added = (id: string): number => (h.readsPerSecond * latency.get(id)!) / 1000
    const targets = [...busy.keys()]
      .filter((id) => !inStripe.has(id) && !input.ineligible.has(id) && imbalanceOf(busy.get(id)! + added(id), mean) <= input.threshold / 2)
      .sort((a, b) => busy.get(a)! + added(a) - (busy.get(b)! + added(b)) || (a < b ? -1 : 1))
    if (targets.length === 0) continue
    busy.set(h.backend, Math.max(0, from - added(h.backend)))
    busy.set(targets[0]!, busy.get(targets[0]!)! + added(targets[0]!))
    receiving.add(targets[0]!)
    tasks.push({
      kind: 'rebalance',
      key: `rebalance:${blockKey(h.objectId, h.stripe, h.block)}`,
      // Hotter first, all below scrubbing (PRIORITY.scrub): durability work goes before speed.
      priority: PRIORITY.rebalance + 0.49 * (h.readsPerSecond / (1 + h.readsPerSecond)),
      bytes: 3 * stripe.blockBytes,
      reason: 'load-imbalance',
      payload: { objectId: h.objectId, stripe: h.stripe, block: h.block, backend: h.backend, key: ref.key, targets, readsPerSecond: h.readsPerSecond, imbalance },
    })
  }
  return tasks
}

/** Checks a {@link LoadReport}. @throws DurabilityError `DURABILITY_ERR_INVALID_ARGUMENT`. */
export function assertLoadReport(load: LoadReport): void {
  if (typeof load !== 'object' || load === null || !Array.isArray(load.backends) || !Array.isArray(load.hot)) throw invalidArgument('load', 'a LoadReport ({ backends: [], hot: [] })', load)
  const nonNegative = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0
  for (const b of load.backends) {
    if (typeof b?.backend !== 'string' || !nonNegative(b.busy) || !nonNegative(b.predictedMs)) throw invalidArgument('load.backends[]', '{ backend: string, busy ≥ 0, predictedMs ≥ 0 }', b)
  }
  for (const h of load.hot) {
    const index = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0
    if (typeof h?.objectId !== 'string' || typeof h.backend !== 'string' || !index(h.stripe) || !index(h.block) || !nonNegative(h.readsPerSecond)) {
      throw invalidArgument('load.hot[]', '{ objectId, stripe, block, backend, readsPerSecond ≥ 0 }', h)
    }
  }
}
