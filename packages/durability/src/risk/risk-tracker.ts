import { BackendRiskModel, FailureRateModel, HoltForecaster, generationPriority, type BackendRiskOptions, type Forecaster, type ObjectPlacement, type PriorityEntry } from '@tessera/predict'
import type { Manifest } from '@tessera/storage'
import { numberOption } from '../errors.js'
import { median, type HealthRecord } from '../health/health-sample.js'

/** One backend's risk as the operator sees it (JSON). */
export interface BackendRiskReport {
  readonly backend: string
  /** P(unavailable within the horizon), 0…1. */
  readonly probability: number
  /** The Gamma-Poisson outage part of it. */
  readonly outage: number
  /** The forecast-degradation part of it (0 during the warm-up and while no forecast is past the trend gate). */
  readonly degradation: number
  readonly forecastErrorRate: number | null
  readonly forecastLatencyMs: number | null
  /** The latest window said the backend is down. */
  readonly unavailable: boolean
  /** Non-empty windows the model has seen. */
  readonly samples: number
}

/** Options of {@link RiskTracker}. */
export interface RiskTrackerOptions {
  /** Options of each backend's {@link BackendRiskModel} (horizon, limits, outage prior). */
  readonly risk?: BackendRiskOptions
  /** Forecaster per metric. Default Holt (α 0.3, β 0.1): the default chosen in `@tessera/predict`'s comparison. */
  readonly createForecaster?: () => Forecaster
  /**
   * Non-empty windows a backend's forecasts need before their degradation term counts (until then
   * its risk is the outage part alone, or 1 while down). Holt takes its slope from the first two
   * samples, so one odd first window (a burst of uploads, a cold cache) would otherwise be
   * extrapolated over the whole horizon. ≥ 2. Default 6.
   */
  readonly warmupSamples?: number
  /**
   * Correct latency for common-mode slowdowns in {@link RiskTracker.observeWindow} (default true):
   * when the median latency across backends rises above its slow baseline, every backend's latency
   * is scaled down by the same factor before it reaches its model (the baseline is an EWMA of that
   * median that ignores windows above twice itself). All backends slowing together is
   * the gateway's host (CPU, GC, a busy disk controller), not a backend failing; one backend
   * degrading barely moves the median. Needs ≥ 3 backends with traffic in the window.
   */
  readonly commonModeLatency?: boolean
  /**
   * Trend gate, a fraction in [0, 1] (default 0.5): a backend's degradation term counts only while
   * one of its forecasts at the horizon is itself past this fraction of its limit (error rate ≥
   * gate × `errorRateLimit`, or latency ≥ gate × `latencyLimitMs`). Without it, a noisy but flat
   * series has a wide forecast spread whose tail alone says "a few % likely to be unavailable" for
   * every backend — diffuse risk that buys parity for nothing. 0 disables the gate.
   */
  readonly trendGate?: number
}

/** EWMA weight of each window's cross-backend median latency in the baseline. */
const BASELINE_WEIGHT = 0.05

/**
 * A {@link BackendRiskModel} per backend, fed with the health windows, and the per-object loss
 * probability / generation-priority list computed from manifests. Pure computation, no I/O.
 */
export class RiskTracker {
  readonly #models = new Map<string, { model: BackendRiskModel; samples: number }>()
  readonly #create: () => BackendRiskModel
  readonly #prior: FailureRateModel
  readonly horizonMs: number
  readonly warmupSamples: number
  readonly commonModeLatency: boolean
  readonly trendGate: number
  #baselineLatencyMs: number | undefined

  /** @throws DurabilityError `DURABILITY_ERR_INVALID_OPTION`; PredictError for bad risk options. */
  constructor(options: RiskTrackerOptions = {}) {
    this.warmupSamples = numberOption('warmupSamples', options.warmupSamples ?? 6, 2, 1_000_000, true)
    this.commonModeLatency = options.commonModeLatency ?? true
    this.trendGate = numberOption('trendGate', options.trendGate ?? 0.5, 0, 1)
    const createForecaster = options.createForecaster ?? (() => new HoltForecaster())
    this.#create = () => new BackendRiskModel(createForecaster, options.risk)
    const probe = this.#create()
    this.#prior = probe.failureRate
    this.horizonMs = probe.options.horizonMs
  }

  /**
   * Feeds one window of every backend, correcting latency for common-mode slowdowns (see
   * {@link RiskTrackerOptions.commonModeLatency}). What the engine uses.
   */
  observeWindow(records: ReadonlyMap<string, HealthRecord>): void {
    let factor = 1
    const latencies = [...records.values()].filter((r) => !r.empty && r.available).map((r) => r.latencyMs)
    if (this.commonModeLatency && latencies.length >= 3) {
      const m = median(latencies)!
      const base = this.#baselineLatencyMs ?? m
      factor = m > base ? base / m : 1
      // The baseline follows slow drift, not a surge: a fleet-wide slowdown beyond 2× stays corrected
      // for as long as it lasts (what is left is each backend's latency relative to its peers).
      if (m <= 2 * base) this.#baselineLatencyMs = (1 - BASELINE_WEIGHT) * base + BASELINE_WEIGHT * m
    }
    for (const [backend, record] of records) this.observe(backend, factor === 1 ? record : { ...record, latencyMs: record.latencyMs * factor })
  }

  /** The slow baseline of the cross-backend median latency, ms (undefined before 3 backends had traffic). */
  get baselineLatencyMs(): number | undefined {
    return this.#baselineLatencyMs
  }

  /** Feeds one health window as is (empty windows carry no evidence and are skipped). */
  observe(backend: string, record: HealthRecord): void {
    if (record.empty) return
    let entry = this.#models.get(backend)
    if (!entry) {
      entry = { model: this.#create(), samples: 0 }
      this.#models.set(backend, entry)
    }
    entry.model.observe(record.tMs, { latencyMs: record.latencyMs, errorRate: record.errorRate, available: record.available })
    entry.samples++
  }

  /** The risk of one backend; a backend not sampled yet carries the prior outage risk. */
  backendRisk(backend: string): BackendRiskReport {
    const entry = this.#models.get(backend)
    if (!entry) {
      const p = this.#prior.outageProbability(this.horizonMs)
      return { backend, probability: p, outage: p, degradation: 0, forecastErrorRate: null, forecastLatencyMs: null, unavailable: false, samples: 0 }
    }
    const r = entry.model.risk()
    const o = entry.model.options
    const trending = r.forecastErrorRate >= this.trendGate * o.errorRateLimit || r.forecastLatencyMs >= this.trendGate * o.latencyLimitMs
    const warm = (entry.samples >= this.warmupSamples && trending) || r.unavailable
    return {
      backend,
      probability: warm ? r.probability : r.outage,
      outage: r.outage,
      degradation: warm ? r.degradation : 0,
      forecastErrorRate: Number.isFinite(r.forecastErrorRate) ? r.forecastErrorRate : null,
      forecastLatencyMs: Number.isFinite(r.forecastLatencyMs) ? r.forecastLatencyMs : null,
      unavailable: r.unavailable,
      samples: entry.samples,
    }
  }

  /** {@link backendRisk} for each of `backends`. */
  backendRisks(backends: readonly string[]): Map<string, BackendRiskReport> {
    return new Map(backends.map((b) => [b, this.backendRisk(b)]))
  }

  /** The generation-priority list (riskiest object first) over `objects`' manifests. */
  priority(objects: Iterable<{ readonly objectId: string; readonly manifest: Manifest }>, risks: ReadonlyMap<string, BackendRiskReport>): PriorityEntry[] {
    const map = new Map([...risks].map(([id, r]) => [id, r.probability]))
    const placements: ObjectPlacement[] = []
    for (const { objectId, manifest } of objects) placements.push(placementOf(objectId, manifest))
    return generationPriority(placements, map)
  }
}

/** Where an object's blocks sit, as `@tessera/predict` wants it. */
export function placementOf(objectId: string, manifest: Pick<Manifest, 'stripes'>): ObjectPlacement {
  return { objectId, stripes: manifest.stripes.map((s) => ({ parityBlocks: s.parityBlocks, backends: s.blocks.map((b) => b?.backend ?? null) })) }
}
