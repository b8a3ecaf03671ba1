import type { BackendRiskReport, RiskTracker } from '../risk/risk-tracker.js'
import type { ResolvedDurabilityOptions } from './durability-options.js'
import { fillingBackends, type CapacityReading } from './plan.js'

/** Capacity readings kept per backend (one per evaluation): the trend of free space is drawn through them. */
const CAPACITY_READINGS = 8

/**
 * Where the engine may put new blocks: the backends to avoid (down, at risk, short of space now or
 * within the horizon — the trend through the capacity readings of the last evaluations) and the
 * order of preference among the rest. Internal to the {@link DurabilityEngine}.
 */
export class BackendChoice {
  /** Capacity readings per backend at the last evaluations, oldest first (for `fillingBackends`). */
  readonly #capacity = new Map<string, CapacityReading[]>()
  /** Blocks the manifests place on each backend, as of the last evaluation. */
  blocksPerBackend = new Map<string, number>()

  constructor(
    private readonly options: ResolvedDurabilityOptions,
    private readonly risk: RiskTracker,
  ) {}

  /** Every backend's risk now. */
  risks(): Map<string, BackendRiskReport> {
    return this.risk.backendRisks(this.options.health.backendIds)
  }

  /** Backends not to place new blocks on: down, risk ≥ the migration threshold, or short of free space (now or within the horizon). */
  avoid(risks = this.risks()): string[] {
    const full = this.#short(new Set())
    return [...risks.values()].filter((r) => r.unavailable || r.probability >= this.options.migrateRiskThreshold || full.has(r.backend)).map((r) => r.backend)
  }

  /** Backends by preference for new blocks: safe ones by risk then load, then risky-or-full-but-up ones; never down ones. */
  targets(): string[] {
    const risks = this.risks()
    const avoid = new Set(this.avoid(risks))
    const blocks = (id: string): number => this.blocksPerBackend.get(id) ?? 0
    const order = [...risks.values()].filter((r) => !r.unavailable).sort((a, b) => a.probability - b.probability || blocks(a.backend) - blocks(b.backend))
    return [...order.filter((r) => !avoid.has(r.backend)), ...order.filter((r) => avoid.has(r.backend))].map((r) => r.backend)
  }

  /** Backends short of space with the blocks to move off each, excluding down and risky ones from those that could take them. */
  filling(risks: ReadonlyMap<string, BackendRiskReport>): Map<string, number> {
    return this.#short(new Set([...risks.values()].filter((r) => r.unavailable || r.probability >= this.options.migrateRiskThreshold).map((r) => r.backend)))
  }

  /** Appends each backend's capacity at its last probe (kept: the last {@link CAPACITY_READINGS}). */
  readCapacity(now: number): void {
    for (const [backend, reading] of this.#probed(now)) {
      const readings = this.#capacity.get(backend) ?? []
      readings.push(reading)
      if (readings.length > CAPACITY_READINGS) readings.shift()
      this.#capacity.set(backend, readings)
    }
  }

  /** Each backend's capacity at its last probe, as a reading at `now` (backends that report none left out). */
  *#probed(now: number): Generator<[string, CapacityReading]> {
    for (const b of this.options.health.snapshot().backends) {
      const c = b.capacity
      if (c && c.totalBytes !== null && c.freeBytes !== null) yield [b.backend, { atMs: now, totalBytes: c.totalBytes, freeBytes: c.freeBytes }]
    }
  }

  /**
   * Backends short of free space now (their last probe) or within the horizon (the trend through the
   * readings of the last evaluations), with the blocks to move off each (none when nobody has room).
   */
  #short(excluded: ReadonlySet<string>): Map<string, number> {
    const now = this.options.clock.now()
    const history = new Map<string, CapacityReading[]>()
    for (const [backend, reading] of this.#probed(now)) history.set(backend, [...(this.#capacity.get(backend) ?? []), reading])
    return fillingBackends(history, {
      now,
      horizonMs: this.risk.horizonMs,
      minFreeFraction: this.options.minFreeFraction,
      blockBytes: this.options.store.options.blockBytes,
      excluded,
    })
  }
}
