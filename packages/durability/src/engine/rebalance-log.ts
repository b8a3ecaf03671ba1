import type { DurabilityEvent } from './durability-event.js'

/** {@link DurabilityEngine.rebalanceStatus}: what load-predictive rebalancing did (JSON). */
export interface RebalanceStatus {
  /** Imbalance score above which a backend gives up hot blocks. */
  readonly threshold: number
  /** Moves planned per load report at most (0: rebalancing is off). */
  readonly maxMovesPerRound: number
  /** How long a block that was planned to move is not planned again, ms. */
  readonly cooldownMs: number
  /** Load reports received ({@link DurabilityEngine.rebalance} calls). */
  readonly rounds: number
  /** The largest imbalance score of the last report (0 before any). */
  readonly lastMaxImbalance: number
  /** Moves queued, and how they ended: done, failed, skipped (the block had moved, or its object was gone). */
  readonly planned: number
  readonly done: number
  readonly failed: number
  readonly skipped: number
  /** Bytes of the blocks moved (each also read back once and read from its old place once). */
  readonly bytesMoved: number
  /** Blocks in their cooldown now. */
  readonly cooling: number
}

/** The engine's rebalancing state: per-block cooldowns and the counters of {@link RebalanceStatus}. Internal. */
export class RebalanceLog {
  readonly #cooling = new Map<string, number>()
  /** Backends moves were planned onto, until when they give up no block. */
  readonly #receiving = new Map<string, number>()
  #counts = { rounds: 0, lastMaxImbalance: 0, planned: 0, done: 0, failed: 0, skipped: 0, bytesMoved: 0 }

  /** Blocks still cooling at `now`, and backends still receiving (expired ones are forgotten). */
  coolingAt(now: number): { readonly blocks: Set<string>; readonly receiving: Set<string> } {
    return { blocks: live(this.#cooling, now), receiving: live(this.#receiving, now) }
  }

  /** A move of block `key` onto backend `target` was queued: both cool until `untilMs`. */
  planned(key: string, target: string, untilMs: number): void {
    this.#cooling.set(key, untilMs)
    this.#receiving.set(target, Math.max(untilMs, this.#receiving.get(target) ?? 0))
    this.#counts.planned++
  }

  /** A load report was received whose largest imbalance score is `maxImbalance`. */
  round(maxImbalance: number): void {
    this.#counts.rounds++
    this.#counts.lastMaxImbalance = maxImbalance
  }

  /** Counts a `rebalance` event's outcome (and the bytes of a done move). */
  observe(event: DurabilityEvent): void {
    if (event.action !== 'rebalance') return
    const c = this.#counts
    if (event.outcome === 'done') {
      c.done++
      c.bytesMoved += typeof event.detail?.bytes === 'number' ? event.detail.bytes : 0
    } else if (event.outcome === 'failed') c.failed++
    else if (event.outcome === 'skipped') c.skipped++
  }

  status(settings: Pick<RebalanceStatus, 'threshold' | 'maxMovesPerRound' | 'cooldownMs'>): RebalanceStatus {
    return { ...settings, ...this.#counts, cooling: this.#cooling.size }
  }
}

/** The keys of `until` whose time has not come at `now`; the others are forgotten. */
function live(until: Map<string, number>, now: number): Set<string> {
  for (const [key, at] of until) if (at <= now) until.delete(key)
  return new Set(until.keys())
}
