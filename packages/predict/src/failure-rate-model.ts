import { PredictError } from './errors.js'
import { checkArgument, checkOption, checkOptionsObject, stripUndefined } from './validate.js'

/** Options of {@link FailureRateModel}. Every field is optional; see {@link defaultFailureRateModelOptions}. */
export interface FailureRateModelOptions {
  /** a0 of the Gamma(a0, b0) prior on the outage rate: pseudo-outages, > 0. Default 1. */
  priorOutages?: number
  /** b0 of the prior: pseudo-exposure in ms, > 0. Default 30 days (prior mean one outage a month). */
  priorExposureMs?: number
}

/** {@link FailureRateModelOptions} with every default filled in. */
export type ResolvedFailureRateModelOptions = Readonly<Required<FailureRateModelOptions>>

const DAY_MS = 86_400_000

/** Defaults of {@link FailureRateModelOptions}. */
export const defaultFailureRateModelOptions: ResolvedFailureRateModelOptions = Object.freeze({ priorOutages: 1, priorExposureMs: 30 * DAY_MS })

/**
 * Validates `options` over {@link defaultFailureRateModelOptions}; returns a new frozen object, never mutates the input.
 * @throws PredictError `PREDICT_ERR_INVALID_OPTION`.
 */
export function resolveFailureRateModelOptions(options: FailureRateModelOptions = {}): ResolvedFailureRateModelOptions {
  checkOptionsObject('options', options)
  const o = { ...defaultFailureRateModelOptions, ...stripUndefined(options) }
  return Object.freeze({
    priorOutages: checkOption('priorOutages', o.priorOutages, { min: 0, minExclusive: true }),
    priorExposureMs: checkOption('priorExposureMs', o.priorExposureMs, { min: 0, minExclusive: true }),
  })
}

/** Plain-JSON state of a {@link FailureRateModel}. */
export interface FailureRateModelState {
  /** Outages observed. */
  readonly outages: number
  /** Observed exposure (time the backend was watched), ms. */
  readonly exposureMs: number
}

/**
 * A backend's outage rate λ (outages per ms), Gamma-Poisson: prior λ ~ Gamma(shape a0, rate b0);
 * after n outages in T ms of watching, λ ~ Gamma(a0 + n, b0 + T). The number of outages in the
 * next H ms is then Negative-Binomial, so
 *
 *     P(at least one outage within H) = 1 − (b / (b + H))^a.
 *
 * Immutable: `observe()` returns a new model.
 */
export class FailureRateModel {
  private constructor(
    readonly options: ResolvedFailureRateModelOptions,
    readonly outages: number,
    readonly exposureMs: number,
  ) {}

  /** A model holding only the prior. @throws PredictError `PREDICT_ERR_INVALID_OPTION`. */
  static create(options?: FailureRateModelOptions): FailureRateModel {
    return new FailureRateModel(resolveFailureRateModelOptions(options), 0, 0)
  }

  /** Restores a model from {@link FailureRateModel.toJSON}. @throws PredictError `PREDICT_ERR_INVALID_STATE`. */
  static fromJSON(state: unknown, options?: FailureRateModelOptions): FailureRateModel {
    const resolved = resolveFailureRateModelOptions(options)
    const s = state as Partial<FailureRateModelState> | null
    const count = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0
    if (typeof s !== 'object' || s === null || !count(s.outages) || !count(s.exposureMs)) {
      throw new PredictError('PREDICT_ERR_INVALID_STATE', `Expected a FailureRateModel state { outages ≥ 0, exposureMs ≥ 0 }, got \`${JSON.stringify(state)}\``)
    }
    return new FailureRateModel(resolved, s.outages, s.exposureMs)
  }

  /**
   * Returns the model after watching the backend for `exposureMs` more ms, during which it had `outages` outages.
   * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for negative or non-finite values.
   */
  observe(exposureMs: number, outages = 0): FailureRateModel {
    checkArgument('exposureMs', exposureMs, { min: 0 })
    checkArgument('outages', outages, { min: 0 })
    return new FailureRateModel(this.options, this.outages + outages, this.exposureMs + exposureMs)
  }

  /** Posterior shape a = a0 + outages. */
  get shape(): number {
    return this.options.priorOutages + this.outages
  }

  /** Posterior rate b = b0 + exposure, ms. */
  get rateMs(): number {
    return this.options.priorExposureMs + this.exposureMs
  }

  /** Posterior mean outage rate, outages per ms (a / b). */
  get meanRatePerMs(): number {
    return this.shape / this.rateMs
  }

  /**
   * P(at least one outage within the next `horizonMs`) under the posterior predictive: 1 − (b/(b + H))^a.
   * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for a negative horizon.
   */
  outageProbability(horizonMs: number): number {
    checkArgument('horizonMs', horizonMs, { min: 0 })
    return -Math.expm1(this.shape * Math.log(this.rateMs / (this.rateMs + horizonMs)))
  }

  /** Plain-JSON state. */
  toJSON(): FailureRateModelState {
    return { outages: this.outages, exposureMs: this.exposureMs }
  }
}
