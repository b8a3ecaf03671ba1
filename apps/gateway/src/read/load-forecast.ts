import { HoltForecaster } from '@tessera/predict'

/** One backend's read load in {@link LoadForecast.snapshot}. */
export interface BackendLoad {
  readonly backend: string
  /** Block reads per second over the last window. */
  readonly readsPerSecond: number
  /** Holt forecast of reads per second `horizonMs` ahead (≥ 0). */
  readonly forecastReadsPerSecond: number
  /** Latency the read path predicts for its next block read, ms. */
  readonly predictedMs: number
  /** Forecast busy share: forecast reads/s × predicted latency (s) — seconds of reading per second. */
  readonly busy: number
  /** busy / mean busy of the backends − 1: 0 is balanced, 1 twice the mean; 0 while nothing is read. */
  readonly imbalance: number
}

/** A backend's cumulative figures, as `ObjectStore.readStats().backends` reports them. */
export interface BackendReadTotals {
  readonly backend: string
  readonly reads: number
  readonly predictedMs: number
}

/**
 * Predictive load analysis of the read path (issue 11, the rebalancing part's input): per window,
 * each backend's block reads per second feed a {@link HoltForecaster}; the forecast times the
 * backend's predicted latency is its busy share, and its imbalance score the deviation of that
 * share from the backends' mean. Reported in `GET /_tessera/read`, and the input of the
 * durability engine's rebalancing (`GatewayReads.sampleLoad`).
 */
export class LoadForecast {
  readonly #forecasters = new Map<string, HoltForecaster>()
  readonly #last = new Map<string, number>()
  #lastAt: number | undefined
  #latest: BackendLoad[] = []

  constructor(
    /** How far ahead the load is forecast, ms. */
    readonly horizonMs = 60_000,
  ) {}

  /** Folds the cumulative totals read at `nowMs` (monotonic ms) into the forecasts. The first call only sets the baseline. */
  sample(nowMs: number, totals: readonly BackendReadTotals[]): void {
    const since = this.#lastAt
    this.#lastAt = nowMs
    const rates = totals.map((t) => {
      const before = this.#last.get(t.backend) ?? 0
      this.#last.set(t.backend, t.reads)
      return { ...t, rate: since === undefined || nowMs <= since ? undefined : ((t.reads - before) / (nowMs - since)) * 1000 }
    })
    if (since === undefined) return
    const loads = rates.flatMap((t) => {
      if (t.rate === undefined) return []
      let f = this.#forecasters.get(t.backend)
      if (!f) this.#forecasters.set(t.backend, (f = new HoltForecaster()))
      f.observe(nowMs, t.rate)
      const forecast = Math.max(0, f.forecast(this.horizonMs))
      return [{ backend: t.backend, readsPerSecond: t.rate, forecastReadsPerSecond: forecast, predictedMs: t.predictedMs, busy: (forecast * t.predictedMs) / 1000 }]
    })
    const mean = loads.reduce((sum, l) => sum + l.busy, 0) / Math.max(1, loads.length)
    this.#latest = loads.map((l) => ({ ...l, imbalance: mean > 0 ? l.busy / mean - 1 : 0 }))
  }

  /** The latest window's loads and scores, by backend. */
  snapshot(): { readonly horizonMs: number; readonly backends: readonly BackendLoad[] } {
    return { horizonMs: this.horizonMs, backends: this.#latest }
  }
}
