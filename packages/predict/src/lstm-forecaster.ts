// The brain.js LSTM forecaster: its own entry (`@tessera/predict/lstm`) so the main entry, and with it
// the client bundle, never loads brain.js. Only brain.js's LSTMTimeStep module is imported (not its
// index, which pulls node:stream for TrainStream and gpu.js for the GPU network).
import * as brainLstmModule from 'brain.js/dist/recurrent/lstm-time-step.js'
import { PredictError } from './errors.js'
import type { Forecaster } from './forecaster.js'
import { seededRandom } from './seeded-random.js'
import { checkArgument, checkOption, checkOptionsObject, stripUndefined } from './validate.js'

// A CommonJS module with `exports.default`: Node's ESM loader hands over `module.exports` as the default,
// bundlers that honour `__esModule` hand over `exports.default` itself. Accept both.
type LstmTimeStepClass = (typeof brainLstmModule.default)['default']
const loaded = (brainLstmModule as unknown as { default: unknown }).default
const LSTMTimeStep = (typeof loaded === 'function' ? loaded : (loaded as { default: unknown }).default) as LstmTimeStepClass

/** Options of {@link LstmForecaster}. Every field is optional; see {@link defaultLstmForecasterOptions}. */
export interface LstmForecasterOptions {
  /** Most recent observations the network is trained on, ≥ 4. Default 24. */
  windowSize?: number
  /** Retrain after this many new observations, ≥ 1 (training is the expensive part). Default 6. */
  retrainEvery?: number
  /** LSTM hidden units (one layer), ≥ 1. Default 6. */
  hiddenUnits?: number
  /** Training iterations per retrain, ≥ 1. Default 60. */
  iterations?: number
  /** Forecast at most this many steps ahead (longer horizons are clamped), ≥ 1. Default 30. */
  maxSteps?: number
  /** Uniform [0, 1) source for the network's initial weights (brain.js draws them from `Math.random`). Default a seeded mulberry32 (seed 1). */
  random?: () => number
}

/** {@link LstmForecasterOptions} with every default filled in. */
export type ResolvedLstmForecasterOptions = Readonly<Required<LstmForecasterOptions>>

/** Defaults of {@link LstmForecasterOptions} (without `random`, which is a fresh seeded generator per forecaster). */
export const defaultLstmForecasterOptions: Readonly<Required<Omit<LstmForecasterOptions, 'random'>>> = Object.freeze({
  windowSize: 24,
  retrainEvery: 6,
  hiddenUnits: 6,
  iterations: 60,
  maxSteps: 30,
})

/**
 * Validates `options`; returns a new frozen object, never mutates the input.
 * @throws PredictError `PREDICT_ERR_INVALID_OPTION`.
 */
export function resolveLstmForecasterOptions(options: LstmForecasterOptions = {}): ResolvedLstmForecasterOptions {
  checkOptionsObject('options', options)
  const o = { ...defaultLstmForecasterOptions, random: seededRandom(1), ...stripUndefined(options) }
  const int = (name: string, v: unknown, min: number): number => {
    const n = checkOption(name, v, { min })
    if (!Number.isInteger(n)) throw new PredictError('PREDICT_ERR_INVALID_OPTION', `Expected \`${name}\` to be an integer from ${min}, got \`${n}\` (number)`)
    return n
  }
  if (typeof o.random !== 'function') throw new PredictError('PREDICT_ERR_INVALID_OPTION', `Expected \`random\` to be a function, got \`${String(o.random)}\` (${typeof o.random})`)
  return Object.freeze({
    windowSize: int('windowSize', o.windowSize, 4),
    retrainEvery: int('retrainEvery', o.retrainEvery, 1),
    hiddenUnits: int('hiddenUnits', o.hiddenUnits, 1),
    iterations: int('iterations', o.iterations, 1),
    maxSteps: int('maxSteps', o.maxSteps, 1),
    random: o.random,
  })
}

/**
 * A {@link Forecaster} backed by brain.js 1.6.1 `recurrent.LSTMTimeStep` (one input, one hidden
 * layer, one output). It keeps the last `windowSize` observations, retrains a fresh network on them
 * every `retrainEvery` observations (values scaled into [0.25, 0.75] by the window's range, so a
 * trend has room to extrapolate), and forecasts h ms ahead as round(h / Δ) recursive one-step
 * predictions, Δ the mean sampling step (at most `maxSteps`). Until the first training (fewer than
 * 4 observations) it forecasts the last value.
 *
 * Deterministic: brain.js draws its initial weights from `Math.random`, so the forecaster swaps in
 * `options.random` for the duration of each (synchronous) brain.js call and restores it after.
 * Costly: ~5–20 ms per retrain at the defaults; not for a hot path.
 */
export class LstmForecaster implements Forecaster {
  readonly options: ResolvedLstmForecasterOptions
  readonly #times: number[] = []
  readonly #values: number[] = []
  #net: InstanceType<LstmTimeStepClass> | null = null
  #scale = { min: 0, span: 1 }
  #sinceTraining = 0

  /** @throws PredictError `PREDICT_ERR_INVALID_OPTION`. */
  constructor(options?: LstmForecasterOptions) {
    this.options = resolveLstmForecasterOptions(options)
  }

  /** See {@link Forecaster.observe}. */
  observe(tMs: number, value: number): void {
    checkArgument('tMs', tMs)
    checkArgument('value', value)
    const last = this.#times.at(-1)
    if (last !== undefined && tMs < last) checkArgument('tMs', tMs, { min: last })
    this.#times.push(tMs)
    this.#values.push(value)
    if (this.#values.length > this.options.windowSize) {
      this.#times.shift()
      this.#values.shift()
    }
    this.#sinceTraining++
    if (this.#values.length >= 4 && (this.#net === null || this.#sinceTraining >= this.options.retrainEvery)) this.#train()
  }

  /** See {@link Forecaster.forecast}. */
  forecast(horizonMs: number): number {
    checkArgument('horizonMs', horizonMs, { min: 0 })
    const last = this.#values.at(-1)
    if (last === undefined) throw new PredictError('PREDICT_ERR_INVALID_STATE', 'Expected at least one observation before `forecast()`, got none')
    if (this.#net === null || horizonMs === 0) return last
    const n = this.#times.length
    const stepMs = (this.#times[n - 1]! - this.#times[0]!) / (n - 1)
    const steps = stepMs > 0 ? Math.min(this.options.maxSteps, Math.max(1, Math.round(horizonMs / stepMs))) : 1
    const net = this.#net
    const input = this.#values.map((v) => this.#toUnit(v))
    const out = this.#withRandom(() => net.forecast(input, steps))
    const y = out.at(-1)
    return y === undefined || !Number.isFinite(y) ? last : this.#fromUnit(y)
  }

  #train(): void {
    const min = Math.min(...this.#values)
    const max = Math.max(...this.#values)
    this.#scale = { min, span: max - min || Math.max(Math.abs(max), 1e-9) }
    const series = this.#values.map((v) => this.#toUnit(v))
    const { hiddenUnits, iterations } = this.options
    this.#net = this.#withRandom(() => {
      const net = new LSTMTimeStep({ inputSize: 1, hiddenLayers: [hiddenUnits], outputSize: 1 })
      net.train([series], { iterations, errorThresh: 1e-5, log: false })
      return net
    })
    this.#sinceTraining = 0
  }

  #toUnit(v: number): number {
    return 0.25 + (0.5 * (v - this.#scale.min)) / this.#scale.span
  }

  #fromUnit(u: number): number {
    return this.#scale.min + ((u - 0.25) * this.#scale.span) / 0.5
  }

  #withRandom<T>(run: () => T): T {
    const original = Math.random
    Math.random = this.options.random
    try {
      return run()
    } finally {
      Math.random = original
    }
  }
}
