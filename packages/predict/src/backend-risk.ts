import { PredictError } from './errors.js'
import { FailureRateModel, type FailureRateModelOptions, type FailureRateModelState } from './failure-rate-model.js'
import type { Forecaster } from './forecaster.js'
import { normalCdf } from './student-t.js'
import { checkArgument, checkOption, checkOptionsObject, stripUndefined } from './validate.js'

/** Options of {@link BackendRiskModel}. Every field is optional; see {@link defaultBackendRiskOptions}. */
export interface BackendRiskOptions {
  /** H: the risk is P(unavailable within the next `horizonMs`), ms, > 0. Default 1 800 000 (30 min). */
  horizonMs?: number
  /** Error rate (0…1] at which the backend counts as unavailable. Default 0.5. */
  errorRateLimit?: number
  /** Latency (ms, > 0) at which the backend counts as unavailable (its blocks time out). Default 5 000. */
  latencyLimitMs?: number
  /** Weight (0, 1] of each new squared one-step forecast residual in the residual variance. Default 0.1. */
  residualWeight?: number
  /** Floor of the one-step residual sd of the error rate (probability units), > 0. Default 0.01. */
  minErrorRateSd?: number
  /** Floor of the one-step residual sd of ln(latency ms), > 0. Default 0.05. */
  minLogLatencySd?: number
  /** Prior of the Gamma-Poisson outage-rate model. Default {@link defaultFailureRateModelOptions}. */
  failureRate?: FailureRateModelOptions
}

/** {@link BackendRiskOptions} with every default filled in. */
export type ResolvedBackendRiskOptions = Readonly<Required<Omit<BackendRiskOptions, 'failureRate'>>> & { readonly failureRate: FailureRateModelOptions }

/** Defaults of {@link BackendRiskOptions}. */
export const defaultBackendRiskOptions: ResolvedBackendRiskOptions = Object.freeze({
  horizonMs: 1_800_000,
  errorRateLimit: 0.5,
  latencyLimitMs: 5_000,
  residualWeight: 0.1,
  minErrorRateSd: 0.01,
  minLogLatencySd: 0.05,
  failureRate: Object.freeze({}),
})

/**
 * Validates `options` over {@link defaultBackendRiskOptions}; returns a new frozen object, never mutates the input.
 * @throws PredictError `PREDICT_ERR_INVALID_OPTION`.
 */
export function resolveBackendRiskOptions(options: BackendRiskOptions = {}): ResolvedBackendRiskOptions {
  checkOptionsObject('options', options)
  const o = { ...defaultBackendRiskOptions, ...stripUndefined(options) }
  const positive = { min: 0, minExclusive: true }
  checkOptionsObject('failureRate', o.failureRate)
  FailureRateModel.create(o.failureRate)
  return Object.freeze({
    horizonMs: checkOption('horizonMs', o.horizonMs, positive),
    errorRateLimit: checkOption('errorRateLimit', o.errorRateLimit, { ...positive, max: 1 }),
    latencyLimitMs: checkOption('latencyLimitMs', o.latencyLimitMs, positive),
    residualWeight: checkOption('residualWeight', o.residualWeight, { ...positive, max: 1 }),
    minErrorRateSd: checkOption('minErrorRateSd', o.minErrorRateSd, positive),
    minLogLatencySd: checkOption('minLogLatencySd', o.minLogLatencySd, positive),
    failureRate: o.failureRate,
  })
}

/** One health sample of a backend (passive figures from real traffic or an active probe). */
export interface HealthSample {
  /** Typical (e.g. median) operation latency over the sample's window, ms, > 0. */
  readonly latencyMs: number
  /** Fraction of operations that failed over the window, 0…1. */
  readonly errorRate: number
  /** False while the backend is unavailable (an outage). Default true. */
  readonly available?: boolean
}

/** What {@link BackendRiskModel.risk} reports; probabilities within the horizon. */
export interface BackendRisk {
  /** P(unavailable within the horizon) = 1 − (1 − outage)(1 − degradation); 1 while unavailable. */
  readonly probability: number
  /** P(≥ 1 outage within the horizon) from the Gamma-Poisson outage-rate posterior alone. */
  readonly outage: number
  /** max(P(error rate ≥ limit at H), P(latency ≥ limit at H)) from the forecasts and their residual spread. */
  readonly degradation: number
  /** Forecast error rate at the horizon, clamped to [0, 1]. */
  readonly forecastErrorRate: number
  /** Forecast latency at the horizon, ms. */
  readonly forecastLatencyMs: number
  /** Whether the latest sample said the backend is unavailable. */
  readonly unavailable: boolean
}

/** Plain-JSON state of the non-forecaster parts of a {@link BackendRiskModel}. */
export interface BackendRiskState {
  readonly failureRate: FailureRateModelState
  readonly lastObservedMs: number | null
  readonly available: boolean
  readonly stepMs: number | null
  readonly errorResidualVar: number | null
  readonly latencyResidualVar: number | null
}

/**
 * Per backend: P(unavailable within a horizon H), combining
 * 1. a Gamma-Poisson posterior on the outage rate ({@link FailureRateModel}): the base risk any
 *    backend carries, learnt from the outages it had; and
 * 2. forecasts of its error rate and ln latency (two {@link Forecaster}s from `createForecaster`),
 *    so a degrading backend's risk rises *before* it dies: with the forecast f at H and the spread
 *    σ_H = σ₁·√max(1, H/Δ) (σ₁ the EWMA of squared one-step residuals, Δ the typical sampling step:
 *    a random-walk widening), P(metric ≥ limit at H) = Φ((f − limit)/σ_H).
 *
 * probability = 1 − (1 − outage)·(1 − max(pError, pLatency)). The max (not a product) because both
 * metrics usually degrade together: counting them as independent would double-count one cause.
 * Mutable (a time series is fed in place); no I/O; clock values are the caller's, in ms.
 */
export class BackendRiskModel {
  readonly options: ResolvedBackendRiskOptions
  #failureRate: FailureRateModel
  readonly #errorRate: Forecaster
  readonly #logLatency: Forecaster
  #lastObservedMs: number | null = null
  #available = true
  #stepMs: number | null = null
  #errorResidualVar: number | null = null
  #latencyResidualVar: number | null = null

  /** @throws PredictError `PREDICT_ERR_INVALID_OPTION`. */
  constructor(createForecaster: () => Forecaster, options?: BackendRiskOptions) {
    if (typeof createForecaster !== 'function') {
      throw new PredictError('PREDICT_ERR_INVALID_OPTION', `Expected \`createForecaster\` to be a function, got \`${String(createForecaster)}\` (${typeof createForecaster})`)
    }
    this.options = resolveBackendRiskOptions(options)
    this.#failureRate = FailureRateModel.create(this.options.failureRate)
    this.#errorRate = createForecaster()
    this.#logLatency = createForecaster()
  }

  /** The outage-rate posterior so far. */
  get failureRate(): FailureRateModel {
    return this.#failureRate
  }

  /**
   * Feeds one health sample taken at `tMs`. Time while available counts as exposure; a transition
   * from available to unavailable counts as one outage. Samples taken while unavailable do not
   * feed the forecasters (an outage is not a trend).
   * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for out-of-range values or a decreasing `tMs`.
   */
  observe(tMs: number, sample: HealthSample): void {
    checkArgument('tMs', tMs, this.#lastObservedMs === null ? {} : { min: this.#lastObservedMs })
    const latencyMs = checkArgument('latencyMs', sample.latencyMs, { min: 0, minExclusive: true })
    const errorRate = checkArgument('errorRate', sample.errorRate, { min: 0, max: 1 })
    const available = sample.available ?? true
    const dt = this.#lastObservedMs === null ? null : tMs - this.#lastObservedMs
    if (this.#lastObservedMs !== null && dt !== null) {
      if (this.#available) this.#failureRate = this.#failureRate.observe(dt, available ? 0 : 1)
      if (dt > 0) this.#stepMs = this.#stepMs === null ? dt : 0.9 * this.#stepMs + 0.1 * dt
    }
    this.#lastObservedMs = tMs
    this.#available = available
    if (!available) return
    const w = this.options.residualWeight
    const logLatency = Math.log(latencyMs)
    const track = (forecaster: Forecaster, value: number, variance: number | null): number | null => {
      let next = variance
      if (dt !== null) {
        try {
          // One-step-ahead residual: what the forecaster said for this moment before seeing it.
          const residual = value - forecaster.forecast(dt)
          next = variance === null ? residual * residual : (1 - w) * variance + w * residual * residual
        } catch (err) {
          if ((err as PredictError).code !== 'PREDICT_ERR_INVALID_STATE') throw err
        }
      }
      forecaster.observe(tMs, value)
      return next
    }
    this.#errorResidualVar = track(this.#errorRate, errorRate, this.#errorResidualVar)
    this.#latencyResidualVar = track(this.#logLatency, logLatency, this.#latencyResidualVar)
  }

  /**
   * The backend's risk at its latest sample, over the configured horizon.
   * @throws PredictError `PREDICT_ERR_INVALID_STATE` before the first available sample.
   */
  risk(): BackendRisk {
    const o = this.options
    const outage = this.#failureRate.outageProbability(o.horizonMs)
    let forecastErrorRate: number
    let forecastLogLatency: number
    try {
      forecastErrorRate = Math.min(1, Math.max(0, this.#errorRate.forecast(o.horizonMs)))
      forecastLogLatency = this.#logLatency.forecast(o.horizonMs)
    } catch (err) {
      if (!this.#available && (err as PredictError).code === 'PREDICT_ERR_INVALID_STATE') {
        return { probability: 1, outage, degradation: 1, forecastErrorRate: 1, forecastLatencyMs: Infinity, unavailable: true }
      }
      throw err
    }
    const widen = Math.sqrt(Math.max(1, o.horizonMs / (this.#stepMs ?? o.horizonMs)))
    const errorSd = Math.max(o.minErrorRateSd, Math.sqrt(this.#errorResidualVar ?? 0)) * widen
    const latencySd = Math.max(o.minLogLatencySd, Math.sqrt(this.#latencyResidualVar ?? 0)) * widen
    const pError = normalCdf((forecastErrorRate - o.errorRateLimit) / errorSd)
    const pLatency = normalCdf((forecastLogLatency - Math.log(o.latencyLimitMs)) / latencySd)
    const degradation = this.#available ? Math.max(pError, pLatency) : 1
    const probability = this.#available ? 1 - (1 - outage) * (1 - degradation) : 1
    return { probability, outage, degradation, forecastErrorRate, forecastLatencyMs: Math.exp(forecastLogLatency), unavailable: !this.#available }
  }

  /** Plain-JSON state of the outage model and residual trackers (the forecasters persist their own). */
  toJSON(): BackendRiskState {
    return {
      failureRate: this.#failureRate.toJSON(),
      lastObservedMs: this.#lastObservedMs,
      available: this.#available,
      stepMs: this.#stepMs,
      errorResidualVar: this.#errorResidualVar,
      latencyResidualVar: this.#latencyResidualVar,
    }
  }
}
