import type { BackendRiskModel } from './backend-risk.js'
import { PredictError } from './errors.js'
import type { HealthTrace } from './health-traces.js'

/** A risk model to score: a name and a factory of fresh {@link BackendRiskModel}s (one per trace). */
export interface RiskCandidate {
  readonly name: string
  readonly create: () => BackendRiskModel
}

/** Options of {@link evaluateRiskModel}. */
export interface RiskEvaluationOptions {
  /** The event scored: failure within the next `horizonMs`; use the models' horizon. */
  readonly horizonMs: number
  /** Risk at or above which the model "alarms". Default 0.5. */
  readonly threshold?: number
}

/** Scores of one model over a set of traces. */
export interface RiskEvaluation {
  readonly name: string
  /** Mean (risk − label)² over every available sample; label = 1 when the backend dies within the horizon. */
  readonly brier: number
  /** Samples scored. */
  readonly samples: number
  /** Per failing trace: ms from the start of the alarm that lasts until death to the death (0 = no warning). */
  readonly leadTimesMs: readonly { readonly trace: string; readonly kind: string; readonly leadMs: number }[]
  /** Mean lead time over the degrade-then-die traces, ms. */
  readonly meanDegradeLeadMs: number
  /** Failing traces whose death was preceded by an alarm (at the last sample before it). */
  readonly detected: number
  /** Failing traces. */
  readonly failures: number
  /** Alarm episodes (risk crossing the threshold upward) with no death during them or within the horizon after. */
  readonly falseAlarms: number
}

/**
 * Replays each trace through a fresh model from `create` and scores its risk against what happened:
 * Brier score, lead time before death at `threshold`, and false alarms. Pure and deterministic as
 * long as the model is. Samples after death are fed (they tell the model it is unavailable) but not scored.
 * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for an empty trace list or a bad horizon.
 */
export function evaluateRiskModel(name: string, create: () => BackendRiskModel, traces: readonly HealthTrace[], options: RiskEvaluationOptions): RiskEvaluation {
  const horizonMs = options.horizonMs
  const threshold = options.threshold ?? 0.5
  if (traces.length === 0 || !(horizonMs > 0) || !(threshold > 0 && threshold <= 1)) {
    throw new PredictError('PREDICT_ERR_INVALID_ARGUMENT', `Expected traces, horizonMs > 0 and 0 < threshold ≤ 1, got ${traces.length} traces, horizonMs ${horizonMs}, threshold ${threshold}`)
  }
  let squares = 0
  let samples = 0
  let falseAlarms = 0
  let detected = 0
  let failures = 0
  const leadTimesMs: { trace: string; kind: string; leadMs: number }[] = []
  for (const trace of traces) {
    const model = create()
    const death = trace.failureAtMs
    let episodeStart: number | null = null
    const closeEpisode = (endMs: number): void => {
      if (episodeStart !== null && (death === null || death > endMs + horizonMs)) falseAlarms++
      episodeStart = null
    }
    for (const s of trace.samples) {
      model.observe(s.tMs, { latencyMs: s.latencyMs, errorRate: s.errorRate, available: s.available })
      if (!s.available || (death !== null && s.tMs >= death)) break
      const risk = model.risk().probability
      const label = death !== null && death - s.tMs <= horizonMs ? 1 : 0
      squares += (risk - label) ** 2
      samples++
      if (risk >= threshold) episodeStart ??= s.tMs
      else closeEpisode(s.tMs)
    }
    if (death !== null) {
      failures++
      const leadMs = episodeStart === null ? 0 : death - episodeStart
      if (episodeStart !== null) detected++
      leadTimesMs.push({ trace: trace.name, kind: trace.kind, leadMs })
    } else closeEpisode(Infinity)
  }
  const degrade = leadTimesMs.filter((l) => l.kind === 'degrade-then-die')
  const meanDegradeLeadMs = degrade.length === 0 ? 0 : degrade.reduce((a, l) => a + l.leadMs, 0) / degrade.length
  return { name, brier: squares / samples, samples, leadTimesMs, meanDegradeLeadMs, detected, failures, falseAlarms }
}

/**
 * Scores every candidate on the same traces ({@link evaluateRiskModel}) and names the best: lowest
 * Brier score, ties broken by fewer false alarms, then longer mean degrade lead time.
 */
export function compareRiskModels(candidates: readonly RiskCandidate[], traces: readonly HealthTrace[], options: RiskEvaluationOptions): { readonly results: readonly RiskEvaluation[]; readonly best: string } {
  if (candidates.length === 0) throw new PredictError('PREDICT_ERR_INVALID_ARGUMENT', 'Expected at least one candidate, got none')
  const results = candidates.map((c) => evaluateRiskModel(c.name, c.create, traces, options))
  const best = [...results].sort((a, b) => a.brier - b.brier || a.falseAlarms - b.falseAlarms || b.meanDegradeLeadMs - a.meanDegradeLeadMs)[0]!
  return { results, best: best.name }
}
