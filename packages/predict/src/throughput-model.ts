import { PredictError } from './errors.js'
import { decayFactor, laterMs } from './forgetting.js'
import { studentTCdf, studentTQuantile, type StudentT } from './student-t.js'
import { checkArgument, checkOption, checkOptionsObject, stripUndefined } from './validate.js'

/** Options of {@link ThroughputModel}. Every field is optional; see {@link defaultThroughputModelOptions}. */
export interface ThroughputModelOptions {
  /** Prior median throughput in bytes/s (m0 = ln of it), > 0. Default 1 000 000 (1 MB/s). */
  priorMedianBytesPerSecond?: number
  /** κ0: how many observations the prior mean is worth, > 0. Default 1. */
  priorMeanWeight?: number
  /** σ0: prior guess of the standard deviation of ln(bytes/s) between attempts (natural-log units), > 0. Default 1 (a factor e). */
  priorLogSd?: number
  /** ν0: how many observations the prior σ0 is worth, > 0 (a0 = ν0/2, b0 = ν0·σ0²/2). Default 4. */
  priorVarianceWeight?: number
  /** Time-based forgetting: evidence halves every `halfLifeMs` ms of model clock, > 0; `Infinity` disables. Default 300 000 (5 min). */
  halfLifeMs?: number
  /** Per-observation forgetting: evidence is multiplied by this before each observation, in (0, 1]. Default 1 (off). */
  forgettingFactor?: number
}

/** {@link ThroughputModelOptions} with every default filled in. */
export type ResolvedThroughputModelOptions = Readonly<Required<ThroughputModelOptions>>

/** Defaults of {@link ThroughputModelOptions}. */
export const defaultThroughputModelOptions: ResolvedThroughputModelOptions = Object.freeze({
  priorMedianBytesPerSecond: 1_000_000,
  priorMeanWeight: 1,
  priorLogSd: 1,
  priorVarianceWeight: 4,
  halfLifeMs: 300_000,
  forgettingFactor: 1,
})

/**
 * Validates `options` over {@link defaultThroughputModelOptions}; returns a new frozen object, never mutates the input.
 * @throws PredictError `PREDICT_ERR_INVALID_OPTION` naming the option, the expected and the actual value.
 */
export function resolveThroughputModelOptions(options: ThroughputModelOptions = {}): ResolvedThroughputModelOptions {
  checkOptionsObject('options', options)
  const o = { ...defaultThroughputModelOptions, ...stripUndefined(options) }
  const positive = { min: 0, minExclusive: true }
  return Object.freeze({
    priorMedianBytesPerSecond: checkOption('priorMedianBytesPerSecond', o.priorMedianBytesPerSecond, positive),
    priorMeanWeight: checkOption('priorMeanWeight', o.priorMeanWeight, positive),
    priorLogSd: checkOption('priorLogSd', o.priorLogSd, positive),
    priorVarianceWeight: checkOption('priorVarianceWeight', o.priorVarianceWeight, positive),
    halfLifeMs: checkOption('halfLifeMs', o.halfLifeMs, { ...positive, infinite: true }),
    forgettingFactor: checkOption('forgettingFactor', o.forgettingFactor, { ...positive, max: 1 }),
  })
}

/**
 * Normal-Inverse-Gamma posterior over (μ, σ²) of x = ln(bytes/s): σ² ~ InvGamma(alpha, beta),
 * μ | σ² ~ Normal(mu, σ²/kappa).
 */
export interface NormalInverseGamma {
  /** Posterior mean of μ, ln(bytes/s). */
  readonly mu: number
  /** Pseudo-observations behind `mu`. */
  readonly kappa: number
  /** Shape of the Inverse-Gamma on σ². */
  readonly alpha: number
  /** Scale of the Inverse-Gamma on σ², (ln(bytes/s))². */
  readonly beta: number
}

/** Plain-JSON state of a {@link ThroughputModel}: decayed weighted sufficient statistics of ln(bytes/s). */
export interface ThroughputModelState {
  /** Decayed total weight of the observations (pseudo-observations). */
  readonly weight: number
  /** Weighted mean of the observed ln(bytes/s). */
  readonly meanLog: number
  /** Decayed weighted sum of squared deviations from `meanLog`, (ln(bytes/s))². */
  readonly sumSquares: number
  /** Model clock (ms) of the latest observation, or null before the first. */
  readonly lastObservedMs: number | null
}

/**
 * Per-endpoint throughput: conjugate Normal-Inverse-Gamma on x = ln(bytes/s) with exponential
 * forgetting. Immutable: `observe()` and `decayTo()` return a new model.
 *
 * State is the decayed weighted sufficient statistics (n, x̄, S) of the observations; with the prior
 * (m0, κ0, a0 = ν0/2, b0 = ν0σ0²/2) the posterior is κ = κ0 + n, mu = (κ0 m0 + n x̄)/κ, alpha = a0 + n/2,
 * beta = b0 + S/2 + κ0 n (x̄ − m0)² / (2κ) — the textbook sequential update when nothing is forgotten.
 * Forgetting multiplies n and S (the evidence in excess of the prior) by forgettingFactor · 0.5^(Δt/halfLifeMs)
 * before each observation. The posterior predictive of a new x is Student-t with ν = 2·alpha,
 * location mu and scale √(beta (κ + 1) / (alpha κ)).
 */
export class ThroughputModel {
  /** Posterior over (μ, σ²) of ln(bytes/s). */
  readonly posterior: NormalInverseGamma
  /** Posterior predictive of the next attempt's ln(bytes/s). */
  readonly predictive: StudentT

  private constructor(
    /** Resolved options (prior and forgetting). */
    readonly options: ResolvedThroughputModelOptions,
    /** Decayed observation weight n. */
    readonly weight: number,
    /** Weighted mean x̄ of ln(bytes/s). */
    readonly meanLog: number,
    /** Decayed weighted sum of squared deviations S. */
    readonly sumSquares: number,
    /** Clock (ms) of the latest observation or decay, null before the first. */
    readonly lastObservedMs: number | null,
  ) {
    const o = options
    const m0 = Math.log(o.priorMedianBytesPerSecond)
    const k0 = o.priorMeanWeight
    const a0 = o.priorVarianceWeight / 2
    const b0 = (o.priorVarianceWeight * o.priorLogSd * o.priorLogSd) / 2
    const kappa = k0 + weight
    const mu = weight === 0 ? m0 : (k0 * m0 + weight * meanLog) / kappa
    const alpha = a0 + weight / 2
    const beta = b0 + sumSquares / 2 + (weight === 0 ? 0 : (k0 * weight * (meanLog - m0) ** 2) / (2 * kappa))
    this.posterior = Object.freeze({ mu, kappa, alpha, beta })
    this.predictive = Object.freeze({ degreesOfFreedom: 2 * alpha, location: mu, scale: Math.sqrt((beta * (kappa + 1)) / (alpha * kappa)) })
  }

  /**
   * A model holding only the prior.
   * @throws PredictError `PREDICT_ERR_INVALID_OPTION`.
   */
  static create(options?: ThroughputModelOptions): ThroughputModel {
    return new ThroughputModel(resolveThroughputModelOptions(options), 0, 0, 0, null)
  }

  /**
   * Restores a model from {@link ThroughputModel.toJSON} output; pass the same options it was created with.
   * @throws PredictError `PREDICT_ERR_INVALID_STATE` for a malformed state, `PREDICT_ERR_INVALID_OPTION` for bad options.
   */
  static fromJSON(state: unknown, options?: ThroughputModelOptions): ThroughputModel {
    const resolved = resolveThroughputModelOptions(options)
    const s = state as Partial<ThroughputModelState> | null
    const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
    if (
      typeof s !== 'object' ||
      s === null ||
      !finite(s.weight) ||
      s.weight < 0 ||
      !finite(s.meanLog) ||
      !finite(s.sumSquares) ||
      s.sumSquares < 0 ||
      !(s.lastObservedMs === null || finite(s.lastObservedMs))
    ) {
      throw new PredictError(
        'PREDICT_ERR_INVALID_STATE',
        `Expected a ThroughputModel state { weight ≥ 0, meanLog, sumSquares ≥ 0, lastObservedMs: number | null }, got \`${JSON.stringify(state)}\``,
      )
    }
    return new ThroughputModel(resolved, s.weight, s.meanLog, s.sumSquares, s.lastObservedMs ?? null)
  }

  /**
   * Returns the model after observing one transfer's throughput (bytes·1000/durationMs) at `atMs`.
   * `weight` scales the evidence (1 = one whole attempt; a short transfer may count for less).
   * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` unless bytesPerSecond > 0, weight > 0 and atMs are finite.
   */
  observe(bytesPerSecond: number, atMs: number, weight = 1): ThroughputModel {
    checkArgument('bytesPerSecond', bytesPerSecond, { min: 0, minExclusive: true })
    checkArgument('atMs', atMs)
    checkArgument('weight', weight, { min: 0, minExclusive: true })
    const x = Math.log(bytesPerSecond)
    const d = decayFactor(this.lastObservedMs, atMs, this.options.halfLifeMs, this.options.forgettingFactor)
    const n = this.weight * d
    const total = n + weight
    const delta = x - this.meanLog
    const mean = n === 0 ? x : this.meanLog + (weight / total) * delta
    const sumSquares = n === 0 ? 0 : this.sumSquares * d + (weight * n * delta * delta) / total
    return new ThroughputModel(this.options, total, mean, sumSquares, laterMs(this.lastObservedMs, atMs))
  }

  /**
   * Returns the model with its evidence decayed to `atMs` without an observation (time-based forgetting only).
   * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for a non-finite `atMs`.
   */
  decayTo(atMs: number): ThroughputModel {
    checkArgument('atMs', atMs)
    if (this.lastObservedMs === null) return this
    const d = decayFactor(this.lastObservedMs, atMs, this.options.halfLifeMs)
    return new ThroughputModel(this.options, this.weight * d, this.meanLog, this.sumSquares * d, laterMs(this.lastObservedMs, atMs))
  }

  /**
   * Predictive median throughput, bytes/s (= exp(mu), also the geometric mean). The predictive
   * arithmetic mean of bytes/s is infinite under a Student-t on the log, so none is offered.
   */
  get medianBytesPerSecond(): number {
    return Math.exp(this.predictive.location)
  }

  /** P(next attempt's throughput ≤ `bytesPerSecond`) under the posterior predictive; 0 for x ≤ 0. Cheap. */
  predictiveCdf(bytesPerSecond: number): number {
    if (!(bytesPerSecond > 0)) return 0
    return studentTCdf(Math.log(bytesPerSecond), this.predictive)
  }

  /**
   * The throughput (bytes/s) below which the next attempt falls with probability `p`.
   * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` unless 0 ≤ p ≤ 1.
   */
  predictiveQuantile(p: number): number {
    return Math.exp(studentTQuantile(p, this.predictive))
  }

  /** Plain-JSON state; `JSON.stringify(model)` uses it. */
  toJSON(): ThroughputModelState {
    return { weight: this.weight, meanLog: this.meanLog, sumSquares: this.sumSquares, lastObservedMs: this.lastObservedMs }
  }
}
