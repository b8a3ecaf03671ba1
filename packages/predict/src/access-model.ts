import { checkArgument, checkOption, checkOptionsObject, stripUndefined } from './validate.js'

/** Options of {@link AccessModel}. Every field is optional; see {@link defaultAccessModelOptions}. */
export interface AccessModelOptions {
  /** The weight of an observed transition halves in this time, ms (> 0). Default 600 000 (10 min). */
  halfLifeMs?: number
  /** Pseudo-weight of "something else" in every state (≥ 0): one observation of A → B gives P(B | A) = 1 / (1 + prior). Default 1. */
  priorWeight?: number
  /** States kept (each with its successors); the least recently observed goes first. Default 10 000. */
  maxStates?: number
  /** Successors kept per state; the lightest goes first (its weight stays in the state's total). Default 8. */
  maxSuccessors?: number
}

/** {@link AccessModelOptions} with every default filled in. */
export type ResolvedAccessModelOptions = Readonly<Required<AccessModelOptions>>

/** Defaults of {@link AccessModelOptions}. */
export const defaultAccessModelOptions: ResolvedAccessModelOptions = Object.freeze({ halfLifeMs: 600_000, priorWeight: 1, maxStates: 10_000, maxSuccessors: 8 })

/**
 * Validates `options` over {@link defaultAccessModelOptions}; returns a new frozen object, never mutates the input.
 * @throws PredictError `PREDICT_ERR_INVALID_OPTION` naming the option, the expected and the actual value.
 */
export function resolveAccessModelOptions(options: AccessModelOptions = {}): ResolvedAccessModelOptions {
  checkOptionsObject('options', options)
  const o = { ...defaultAccessModelOptions, ...stripUndefined(options) }
  return Object.freeze({
    halfLifeMs: checkOption('halfLifeMs', o.halfLifeMs, { min: 0, minExclusive: true }),
    priorWeight: checkOption('priorWeight', o.priorWeight, { min: 0 }),
    maxStates: Math.floor(checkOption('maxStates', o.maxStates, { min: 1 })),
    maxSuccessors: Math.floor(checkOption('maxSuccessors', o.maxSuccessors, { min: 1 })),
  })
}

/** One predicted successor. */
export interface AccessPrediction {
  readonly key: string
  /** P(next = key | current), in [0, 1). */
  readonly probability: number
}

interface State {
  /** Decayed weight of every transition out of this state (kept successors and dropped ones), as of `atMs`. */
  total: number
  readonly next: Map<string, number>
  atMs: number
}

/**
 * A first-order model of what is read after what: decayed counts of observed transitions
 * `from → to` between opaque keys (the gateway's are (object, stripe)). P(to | from) is the
 * decayed weight of `from → to` over the state's decayed total plus `priorWeight`, so a single
 * observation is not a certainty and old habits fade with `halfLifeMs`. Memory is bounded by
 * `maxStates × maxSuccessors`. Pure: time is passed in.
 */
export class AccessModel {
  readonly options: ResolvedAccessModelOptions
  readonly #states = new Map<string, State>()

  /** @throws PredictError `PREDICT_ERR_INVALID_OPTION`. */
  constructor(options: AccessModelOptions = {}) {
    this.options = resolveAccessModelOptions(options)
  }

  /** States held now. */
  get size(): number {
    return this.#states.size
  }

  /** Counts one transition `from → to` observed at `nowMs`. @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for a non-finite time. */
  observe(from: string, to: string, nowMs: number): void {
    checkArgument('nowMs', nowMs)
    let state = this.#states.get(from)
    if (state) {
      this.#decay(state, nowMs)
      this.#states.delete(from)
    } else {
      state = { total: 0, next: new Map(), atMs: nowMs }
    }
    this.#states.set(from, state)
    state.total += 1
    state.next.set(to, (state.next.get(to) ?? 0) + 1)
    if (state.next.size > this.options.maxSuccessors) {
      let lightest: string | undefined
      for (const [key, w] of state.next) if (lightest === undefined || w < state.next.get(lightest)!) lightest = key
      state.next.delete(lightest!)
    }
    if (this.#states.size > this.options.maxStates) this.#states.delete(this.#states.keys().next().value!)
  }

  /** The successors of `from` at `nowMs` with their probabilities, most likely first (none for an unknown state). */
  predict(from: string, nowMs: number): AccessPrediction[] {
    checkArgument('nowMs', nowMs)
    const state = this.#states.get(from)
    if (!state) return []
    this.#decay(state, nowMs)
    const denominator = state.total + this.options.priorWeight
    if (denominator === 0) return []
    return [...state.next].map(([key, w]) => ({ key, probability: w / denominator })).sort((a, b) => b.probability - a.probability || (a.key < b.key ? -1 : 1))
  }

  #decay(state: State, nowMs: number): void {
    if (nowMs <= state.atMs) return
    const factor = 0.5 ** ((nowMs - state.atMs) / this.options.halfLifeMs)
    state.total *= factor
    for (const [key, w] of state.next) state.next.set(key, w * factor)
    state.atMs = nowMs
  }
}
