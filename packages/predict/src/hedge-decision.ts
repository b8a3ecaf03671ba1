import { checkArgument, checkOption, checkOptionsObject, stripUndefined } from './validate.js'

/** Options of {@link decideHedges}. Every field is optional; see {@link defaultHedgeDecisionOptions}. */
export interface HedgeDecisionOptions {
  /** Hedge attempts whose risk is at least this probability, in [0, 1]. Default 0.3. */
  riskThreshold?: number
  /** Hedge budget as a fraction of the upload's bytes: all hedges together may send at most this much extra, ≥ 0. Default 0.05 (5 %). */
  budgetFraction?: number
}

/** {@link HedgeDecisionOptions} with every default filled in. */
export type ResolvedHedgeDecisionOptions = Readonly<Required<HedgeDecisionOptions>>

/** Defaults of {@link HedgeDecisionOptions}. */
export const defaultHedgeDecisionOptions: ResolvedHedgeDecisionOptions = Object.freeze({ riskThreshold: 0.3, budgetFraction: 0.05 })

/**
 * Validates `options` over {@link defaultHedgeDecisionOptions}; returns a new frozen object, never mutates the input.
 * @throws PredictError `PREDICT_ERR_INVALID_OPTION` naming the option, the expected and the actual value.
 */
export function resolveHedgeDecisionOptions(options: HedgeDecisionOptions = {}): ResolvedHedgeDecisionOptions {
  checkOptionsObject('options', options)
  const o = { ...defaultHedgeDecisionOptions, ...stripUndefined(options) }
  return Object.freeze({
    riskThreshold: checkOption('riskThreshold', o.riskThreshold, { min: 0, max: 1 }),
    budgetFraction: checkOption('budgetFraction', o.budgetFraction, { min: 0 }),
  })
}

/** An in-flight attempt the client could hedge. Extra fields are carried through to the decision. */
export interface HedgeCandidate {
  /** P(the attempt fails or misses its deadline), e.g. {@link AttemptRisk.risk}, in [0, 1]. */
  readonly risk: number
  /** Bytes a hedge of this attempt would send (the partition, or its unacknowledged rest if it is split), ≥ 0. */
  readonly hedgeBytes: number
}

/** The upload-wide byte accounting a hedge decision is made against. */
export interface HedgeBudget {
  /** Bytes of the whole upload (for a stream of unknown length: bytes read so far), ≥ 0. */
  readonly uploadBytes: number
  /** Bytes already committed to hedges of this upload, ≥ 0. */
  readonly spentBytes: number
}

/** Result of {@link decideHedges}. */
export interface HedgeDecision<C extends HedgeCandidate> {
  /** Candidates to hedge now, highest risk first. */
  readonly hedge: readonly C[]
  /** Total hedge budget, bytes = floor(uploadBytes · budgetFraction). */
  readonly budgetBytes: number
  /** Hedge bytes committed after this decision (input spentBytes + the chosen hedges), bytes. */
  readonly spentBytes: number
  /** Budget left after this decision, bytes (never negative). */
  readonly remainingBytes: number
}

/**
 * Chooses which in-flight attempts to hedge: those with risk ≥ `riskThreshold`, highest risk first
 * (ties in input order), each taken only if its `hedgeBytes` still fits in the remaining budget — a
 * candidate that does not fit is skipped and smaller, lower-risk ones may still be taken. Pure; the
 * caller filters out attempts it has already hedged.
 * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for a risk outside [0, 1] or negative bytes,
 *   `PREDICT_ERR_INVALID_OPTION` for bad options.
 */
export function decideHedges<C extends HedgeCandidate>(
  candidates: readonly C[],
  budget: HedgeBudget,
  options?: HedgeDecisionOptions,
): HedgeDecision<C> {
  const o = resolveHedgeDecisionOptions(options)
  const uploadBytes = checkArgument('uploadBytes', budget.uploadBytes, { min: 0 })
  let spentBytes = checkArgument('spentBytes', budget.spentBytes, { min: 0 })
  const budgetBytes = Math.floor(uploadBytes * o.budgetFraction)
  const eligible: C[] = []
  candidates.forEach((c, i) => {
    checkArgument(`candidates[${i}].risk`, c.risk, { min: 0, max: 1 })
    checkArgument(`candidates[${i}].hedgeBytes`, c.hedgeBytes, { min: 0 })
    if (c.risk >= o.riskThreshold) eligible.push(c)
  })
  eligible.sort((a, b) => b.risk - a.risk)
  const hedge: C[] = []
  for (const c of eligible) {
    if (spentBytes + c.hedgeBytes > budgetBytes) continue
    hedge.push(c)
    spentBytes += c.hedgeBytes
  }
  return { hedge, budgetBytes, spentBytes, remainingBytes: Math.max(0, budgetBytes - spentBytes) }
}
