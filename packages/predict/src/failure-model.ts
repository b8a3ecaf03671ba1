import { betaQuantile } from './beta-distribution.js'
import { PredictError } from './errors.js'
import { decayFactor, laterMs } from './forgetting.js'
import { checkArgument, checkOption, checkOptionsObject, stripUndefined } from './validate.js'

/** Options of {@link FailureModel}. Every field is optional; see {@link defaultFailureModelOptions}. */
export interface FailureModelOptions {
  /** α0 of the Beta(α0, β0) prior: pseudo-failures, > 0. Default 0.5. */
  priorAlpha?: number
  /** β0 of the Beta(α0, β0) prior: pseudo-successes, > 0. Default 9.5 (with α0 = 0.5: prior mean 5 %, worth 10 attempts). */
  priorBeta?: number
  /**
   * Time-based forgetting: evidence (counts in excess of the prior) halves every `halfLifeMs`
   * milliseconds of model clock, > 0; `Infinity` disables it. Default 300 000 (5 min).
   */
  halfLifeMs?: number
  /** Per-observation forgetting: evidence is multiplied by this factor before each observation, in (0, 1]. Default 1 (off). */
  forgettingFactor?: number
}

/** {@link FailureModelOptions} with every default filled in. */
export type ResolvedFailureModelOptions = Readonly<Required<FailureModelOptions>>

/** Defaults of {@link FailureModelOptions}. */
export const defaultFailureModelOptions: ResolvedFailureModelOptions = Object.freeze({
  priorAlpha: 0.5,
  priorBeta: 9.5,
  halfLifeMs: 300_000,
  forgettingFactor: 1,
})

/**
 * Validates `options` over {@link defaultFailureModelOptions}; returns a new frozen object and never mutates the input.
 * @throws PredictError `PREDICT_ERR_INVALID_OPTION` naming the option, the expected and the actual value.
 */
export function resolveFailureModelOptions(options: FailureModelOptions = {}): ResolvedFailureModelOptions {
  checkOptionsObject('options', options)
  const o = { ...defaultFailureModelOptions, ...stripUndefined(options) }
  return Object.freeze({
    priorAlpha: checkOption('priorAlpha', o.priorAlpha, { min: 0, minExclusive: true }),
    priorBeta: checkOption('priorBeta', o.priorBeta, { min: 0, minExclusive: true }),
    halfLifeMs: checkOption('halfLifeMs', o.halfLifeMs, { min: 0, minExclusive: true, infinite: true }),
    forgettingFactor: checkOption('forgettingFactor', o.forgettingFactor, { min: 0, minExclusive: true, max: 1 }),
  })
}

/** Outcome of one attempt as the failure model sees it. A hedged attempt that was cancelled is neither: do not observe it. */
export type AttemptOutcome = 'success' | 'failure'

/** Plain-JSON state of a {@link FailureModel} (persist it; restore with {@link FailureModel.fromJSON}). */
export interface FailureModelState {
  /** Decayed count of observed failures (the evidence added to α0). */
  readonly failures: number
  /** Decayed count of observed successes (the evidence added to β0). */
  readonly successes: number
  /** Model clock in ms (the caller's clock, e.g. epoch ms) of the latest observation, or null before the first. */
  readonly lastObservedMs: number | null
}

/**
 * Per-endpoint P(an attempt fails): Beta-Bernoulli with exponential forgetting. Immutable: `observe()`
 * and `decayTo()` return a new model.
 *
 * Posterior Beta(α, β) with α = α0 + failures, β = β0 + successes. Before each observation at
 * time t the evidence decays toward the prior: failures, successes ×= forgettingFactor · 0.5^(Δt/halfLifeMs),
 * Δt = t − lastObservedMs (0 when out of order); then 1 is added to failures or successes.
 */
export class FailureModel {
  private constructor(
    /** Resolved options (prior and forgetting). */
    readonly options: ResolvedFailureModelOptions,
    /** Decayed failure evidence, pseudo-attempts. */
    readonly failures: number,
    /** Decayed success evidence, pseudo-attempts. */
    readonly successes: number,
    /** Clock (ms) of the latest observation or decay, null before the first. */
    readonly lastObservedMs: number | null,
  ) {}

  /**
   * A model holding only the prior.
   * @throws PredictError `PREDICT_ERR_INVALID_OPTION`.
   */
  static create(options?: FailureModelOptions): FailureModel {
    return new FailureModel(resolveFailureModelOptions(options), 0, 0, null)
  }

  /**
   * Restores a model from {@link FailureModel.toJSON} output. Options are configuration, not state: pass the same ones.
   * @throws PredictError `PREDICT_ERR_INVALID_STATE` for a malformed state, `PREDICT_ERR_INVALID_OPTION` for bad options.
   */
  static fromJSON(state: unknown, options?: FailureModelOptions): FailureModel {
    const resolved = resolveFailureModelOptions(options)
    const s = state as Partial<FailureModelState> | null
    const count = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0
    if (
      typeof s !== 'object' ||
      s === null ||
      !count(s.failures) ||
      !count(s.successes) ||
      !(s.lastObservedMs === null || (typeof s.lastObservedMs === 'number' && Number.isFinite(s.lastObservedMs)))
    ) {
      throw new PredictError(
        'PREDICT_ERR_INVALID_STATE',
        `Expected a FailureModel state { failures ≥ 0, successes ≥ 0, lastObservedMs: number | null }, got \`${JSON.stringify(state)}\``,
      )
    }
    return new FailureModel(resolved, s.failures!, s.successes!, s.lastObservedMs ?? null)
  }

  /** α of the Beta posterior (pseudo-failures). */
  get alpha(): number {
    return this.options.priorAlpha + this.failures
  }

  /** β of the Beta posterior (pseudo-successes). */
  get beta(): number {
    return this.options.priorBeta + this.successes
  }

  /** Posterior mean P(an attempt fails) = α / (α + β), in [0, 1]. */
  get failureProbability(): number {
    return this.alpha / (this.alpha + this.beta)
  }

  /**
   * Upper end of the one-sided credible interval: the q with P(p ≤ q) = `level` under Beta(α, β).
   * About 60 incomplete-beta evaluations: call it when reporting, not per attempt per tick.
   * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` unless 0 ≤ level ≤ 1.
   */
  upperBound(level = 0.95): number {
    return betaQuantile(checkArgument('level', level, { min: 0, max: 1 }), this.alpha, this.beta)
  }

  /**
   * Returns the model after observing one attempt's outcome at `atMs` (caller's clock, ms).
   * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for a non-finite `atMs` or an unknown outcome.
   */
  observe(outcome: AttemptOutcome, atMs: number): FailureModel {
    checkArgument('atMs', atMs)
    if (outcome !== 'success' && outcome !== 'failure') {
      throw new PredictError('PREDICT_ERR_INVALID_ARGUMENT', `Expected \`outcome\` to be 'success' or 'failure', got \`${String(outcome)}\``)
    }
    const d = decayFactor(this.lastObservedMs, atMs, this.options.halfLifeMs, this.options.forgettingFactor)
    const failed = outcome === 'failure' ? 1 : 0
    return new FailureModel(this.options, this.failures * d + failed, this.successes * d + (1 - failed), laterMs(this.lastObservedMs, atMs))
  }

  /**
   * Returns the model with its evidence decayed to `atMs` without an observation (time-based forgetting only):
   * after a long silence the estimate drifts back to the prior.
   * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for a non-finite `atMs`.
   */
  decayTo(atMs: number): FailureModel {
    checkArgument('atMs', atMs)
    if (this.lastObservedMs === null) return this
    const d = decayFactor(this.lastObservedMs, atMs, this.options.halfLifeMs)
    return new FailureModel(this.options, this.failures * d, this.successes * d, laterMs(this.lastObservedMs, atMs))
  }

  /** Plain-JSON state; `JSON.stringify(model)` uses it. */
  toJSON(): FailureModelState {
    return { failures: this.failures, successes: this.successes, lastObservedMs: this.lastObservedMs }
  }
}
