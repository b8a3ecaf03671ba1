import { PredictError } from './errors.js'
import type { Forecaster } from './forecaster.js'
import { checkArgument, checkOption, checkOptionsObject, stripUndefined } from './validate.js'

/** Options of {@link HoltForecaster}. Every field is optional; see {@link defaultHoltForecasterOptions}. */
export interface HoltForecasterOptions {
  /** Level smoothing weight given to each new observation, in (0, 1]. Default 0.3. */
  alpha?: number
  /** Trend smoothing weight given to each new slope, in [0, 1]; 0 disables the trend, which turns Holt into an EWMA. Default 0.1. */
  beta?: number
}

/** {@link HoltForecasterOptions} with every default filled in. */
export type ResolvedHoltForecasterOptions = Readonly<Required<HoltForecasterOptions>>

/** Defaults of {@link HoltForecasterOptions}. */
export const defaultHoltForecasterOptions: ResolvedHoltForecasterOptions = Object.freeze({ alpha: 0.3, beta: 0.1 })

/**
 * Validates `options` over {@link defaultHoltForecasterOptions}; returns a new frozen object, never mutates the input.
 * @throws PredictError `PREDICT_ERR_INVALID_OPTION` naming the option, the expected and the actual value.
 */
export function resolveHoltForecasterOptions(options: HoltForecasterOptions = {}): ResolvedHoltForecasterOptions {
  checkOptionsObject('options', options)
  const o = { ...defaultHoltForecasterOptions, ...stripUndefined(options) }
  return Object.freeze({
    alpha: checkOption('alpha', o.alpha, { min: 0, minExclusive: true, max: 1 }),
    beta: checkOption('beta', o.beta, { min: 0, max: 1 }),
  })
}

/** Plain-JSON state of a {@link HoltForecaster}. */
export interface HoltForecasterState {
  /** Smoothed level at `lastObservedMs`, series units; null before the first observation. */
  readonly level: number | null
  /** Smoothed trend, series units per ms; null until two observations at distinct times (or always, with beta = 0). */
  readonly trendPerMs: number | null
  /** Timestamp (ms) of the latest observation, null before the first. */
  readonly lastObservedMs: number | null
}

/**
 * Holt's linear exponential smoothing (level + trend) for irregular timestamps. For an observation y
 * at t, Δt = t − t_prev ms:
 *   level' = α·y + (1 − α)(level + trend·Δt)
 *   trend' = β·(level' − level)/Δt + (1 − β)·trend     (skipped when Δt = 0)
 * Warm-up: the first observation sets the level, the second (at a later time) sets level = y and
 * trend = the slope between the two, so a linear series is extrapolated exactly from then on.
 * forecast(h) = level + trend·h. With beta = 0 the trend stays 0: an EWMA of the observations.
 */
export class HoltForecaster implements Forecaster {
  /** Resolved options. */
  readonly options: ResolvedHoltForecasterOptions
  private level: number | null = null
  private trendPerMs: number | null = null
  private lastObservedMs: number | null = null

  /** @throws PredictError `PREDICT_ERR_INVALID_OPTION`. */
  constructor(options?: HoltForecasterOptions, state?: HoltForecasterState) {
    this.options = resolveHoltForecasterOptions(options)
    if (state !== undefined) {
      const ok = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v))
      if (typeof state !== 'object' || state === null || !ok(state.level) || !ok(state.trendPerMs) || !ok(state.lastObservedMs) || (state.level === null) !== (state.lastObservedMs === null)) {
        throw new PredictError('PREDICT_ERR_INVALID_STATE', `Expected a HoltForecaster state { level, trendPerMs, lastObservedMs }, got \`${JSON.stringify(state)}\``)
      }
      this.level = state.level
      this.trendPerMs = this.options.beta === 0 ? null : state.trendPerMs
      this.lastObservedMs = state.lastObservedMs
    }
  }

  /** See {@link Forecaster.observe}. */
  observe(tMs: number, value: number): void {
    checkArgument('tMs', tMs)
    checkArgument('value', value)
    if (this.level === null || this.lastObservedMs === null) {
      this.level = value
      this.lastObservedMs = tMs
      return
    }
    if (tMs < this.lastObservedMs) checkArgument('tMs', tMs, { min: this.lastObservedMs })
    const dt = tMs - this.lastObservedMs
    const { alpha, beta } = this.options
    if (beta > 0 && this.trendPerMs === null && dt > 0) {
      this.trendPerMs = (value - this.level) / dt
      this.level = value
    } else {
      const trend = this.trendPerMs ?? 0
      const level = alpha * value + (1 - alpha) * (this.level + trend * dt)
      if (beta > 0 && dt > 0) this.trendPerMs = beta * ((level - this.level) / dt) + (1 - beta) * trend
      this.level = level
    }
    this.lastObservedMs = tMs
  }

  /** See {@link Forecaster.forecast}. */
  forecast(horizonMs: number): number {
    checkArgument('horizonMs', horizonMs, { min: 0 })
    if (this.level === null) throw new PredictError('PREDICT_ERR_INVALID_STATE', 'Expected at least one observation before `forecast()`, got none')
    return this.level + (this.trendPerMs ?? 0) * horizonMs
  }

  /** Plain-JSON state; restore with `new HoltForecaster(options, state)`. */
  toJSON(): HoltForecasterState {
    return { level: this.level, trendPerMs: this.trendPerMs, lastObservedMs: this.lastObservedMs }
  }
}
