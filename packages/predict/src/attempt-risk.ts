import type { FailureModel } from './failure-model.js'
import { studentTCdf } from './student-t.js'
import type { ThroughputModel } from './throughput-model.js'
import { checkArgument, checkOption, checkOptionsObject, stripUndefined } from './validate.js'

/** Options of {@link attemptRisk}. Every field is optional; see {@link defaultAttemptRiskOptions}. */
export interface AttemptRiskOptions {
  /**
   * Bytes between two progress events of a healthy attempt (the granularity the transport reports
   * progress at), > 0. With the predicted rate it gives the expected inter-progress gap. Default 65 536.
   */
  progressBytes?: number
  /**
   * Floor of the expected inter-progress gap in ms, ≥ 0. A healthy TCP connection pauses for one
   * retransmission timeout (≥ 200 ms on Linux) after a lost segment. Default 200.
   */
  minProgressGapMs?: number
  /**
   * Bytes of the attempt's own progress that count as one observation of its rate, > 0: after
   * `bytesAcked` bytes the attempt's own rate weighs w = bytesAcked / ownRateEvidenceBytes against the
   * endpoint predictive (weight 1). Default 262 144 (256 KiB).
   */
  ownRateEvidenceBytes?: number
}

/** {@link AttemptRiskOptions} with every default filled in. */
export type ResolvedAttemptRiskOptions = Readonly<Required<AttemptRiskOptions>>

/** Defaults of {@link AttemptRiskOptions}. */
export const defaultAttemptRiskOptions: ResolvedAttemptRiskOptions = Object.freeze({
  progressBytes: 65_536,
  minProgressGapMs: 200,
  ownRateEvidenceBytes: 262_144,
})

// Resolved option objects, so the hot path validates a caller's object once, not every tick.
const resolvedAttemptRiskOptions = new WeakSet<object>([defaultAttemptRiskOptions])

/**
 * Validates `options` over {@link defaultAttemptRiskOptions}; returns a new frozen object, never mutates the input.
 * Resolve once and pass the result to {@link attemptRisk} to skip re-validation on every call.
 * @throws PredictError `PREDICT_ERR_INVALID_OPTION` naming the option, the expected and the actual value.
 */
export function resolveAttemptRiskOptions(options: AttemptRiskOptions = {}): ResolvedAttemptRiskOptions {
  if (resolvedAttemptRiskOptions.has(options)) return options as ResolvedAttemptRiskOptions
  checkOptionsObject('options', options)
  const o = { ...defaultAttemptRiskOptions, ...stripUndefined(options) }
  const resolved = Object.freeze({
    progressBytes: checkOption('progressBytes', o.progressBytes, { min: 0, minExclusive: true }),
    minProgressGapMs: checkOption('minProgressGapMs', o.minProgressGapMs, { min: 0 }),
    ownRateEvidenceBytes: checkOption('ownRateEvidenceBytes', o.ownRateEvidenceBytes, { min: 0, minExclusive: true }),
  })
  resolvedAttemptRiskOptions.add(resolved)
  return resolved
}

/** What the client knows about one in-flight attempt (one partition on one endpoint). */
export interface AttemptProgress {
  /** Size of the attempt's partition in bytes, > 0. */
  readonly totalBytes: number
  /** Bytes acknowledged so far (upload offset within the partition), 0 ≤ bytesAcked ≤ totalBytes. */
  readonly bytesAcked: number
  /** Ms since the attempt started, ≥ 0. */
  readonly elapsedMs: number
  /** Ms from the attempt's start by which it must finish, > 0. */
  readonly deadlineMs: number
  /** Ms since the last progress (or since the start if none yet), 0 ≤ stalledMs ≤ elapsedMs. */
  readonly stalledMs: number
  /** Expected ms between progress events of a healthy attempt, > 0, if the transport knows it; else derived from the options. */
  readonly progressGapMs?: number
}

/** Result of {@link attemptRisk}; all probabilities in [0, 1]. */
export interface AttemptRisk {
  /** P(the attempt fails or misses its deadline) = 1 − (1 − failure)(1 − miss). Hedge on this. */
  readonly risk: number
  /** P(the attempt fails from now on), including `dead`. */
  readonly failure: number
  /** P(the connection is already dead), from the current stall alone. */
  readonly dead: number
  /** P(a live attempt misses its deadline): the remaining bytes do not arrive in the remaining time. */
  readonly miss: number
  /** Throughput the rest must sustain to meet the deadline, bytes/s (Infinity once the deadline is past). */
  readonly requiredBytesPerSecond: number
  /** Predicted median throughput of the rest of this attempt, bytes/s. */
  readonly predictedBytesPerSecond: number
  /** Expected inter-progress gap of a healthy attempt used for the stall term, ms. */
  readonly progressGapMs: number
}

const NO_RISK_DONE = Object.freeze({ risk: 0, failure: 0, dead: 0, miss: 0, requiredBytesPerSecond: 0 })

/**
 * P(an in-flight attempt fails or misses its deadline | elapsed time, progress so far), from the
 * endpoint's failure and throughput posteriors. Cheap (one Student-t CDF and a few exp/log): meant
 * to run for every in-flight attempt every few hundred ms. Read the models as they are; call
 * `decayTo(now)` on them first if they may be stale.
 *
 * Math (x = ln bytes/s; endpoint predictive x ~ t_ν(m, s); R = remaining bytes; T = deadline − elapsed):
 * 1. Own rate: the attempt's rate up to its last progress, y = ln(bytesAcked / (elapsed − stalled)),
 *    is w = bytesAcked / ownRateEvidenceBytes observations of its own rate θ, each as informative as the
 *    endpoint spread: θ | y ~ t_ν(m', s²/(1+w)) with m' = (m + w·y)/(1 + w). The remaining bytes' average
 *    rate adds finite-sample noise s²·ownRateEvidenceBytes/R.
 * 2. Miss: miss = P(rate < R/T) = F_tν((ln(R/T) − m')/s'), s'² = s²/(1+w) + s²·ownRateEvidenceBytes/R.
 * 3. Failure hazard: the Beta posterior mean p is spread as a constant hazard over the attempt's expected
 *    duration D0 = max(totalBytes / e^m, g) (g of step 4: an attempt lasts at least one healthy gap —
 *    its request's round trip and the server's answer — however few its bytes): λ = −ln(1 − p)/D0 per ms.
 *    Without that floor a 1-byte attempt's D0 is a microsecond and 1 ms of silence reads as dead.
 * 4. Stall: a healthy attempt's progress gaps are exponential with mean g (progressGapMs, or
 *    max(minProgressGapMs, progressBytes / e^m')); a dead one is silent. Given silence for s_t = stalledMs,
 *    Bayes gives dead = (e^{λ s_t} − 1) / (e^{λ s_t} − 1 + e^{−s_t/g}), rising sharply once s_t ≫ g.
 * 5. failure = dead + (1 − dead)(1 − e^{−λ·min(R/e^m', T)}): an attempt that survived most of its
 *    duration has little left to fail in.
 * 6. risk = 1 − (1 − failure)(1 − miss).
 * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for an inconsistent `attempt`, `PREDICT_ERR_INVALID_OPTION` for bad options.
 */
export function attemptRisk(
  attempt: AttemptProgress,
  failureModel: FailureModel,
  throughputModel: ThroughputModel,
  options: AttemptRiskOptions = defaultAttemptRiskOptions,
): AttemptRisk {
  const o = resolveAttemptRiskOptions(options)
  const totalBytes = checkArgument('totalBytes', attempt.totalBytes, { min: 0, minExclusive: true })
  const bytesAcked = checkArgument('bytesAcked', attempt.bytesAcked, { min: 0, max: totalBytes })
  const elapsedMs = checkArgument('elapsedMs', attempt.elapsedMs, { min: 0 })
  const deadlineMs = checkArgument('deadlineMs', attempt.deadlineMs, { min: 0, minExclusive: true })
  const stalledMs = checkArgument('stalledMs', attempt.stalledMs, { min: 0, max: elapsedMs })
  if (attempt.progressGapMs !== undefined) checkArgument('progressGapMs', attempt.progressGapMs, { min: 0, minExclusive: true })

  const { degreesOfFreedom, location: m, scale: s } = throughputModel.predictive
  const remainingBytes = totalBytes - bytesAcked
  const activeMs = elapsedMs - stalledMs
  const w = bytesAcked > 0 && activeMs > 0 ? bytesAcked / o.ownRateEvidenceBytes : 0
  const ownLocation = w === 0 ? m : (m + w * Math.log((bytesAcked * 1000) / activeMs)) / (1 + w)
  const predictedBytesPerSecond = Math.exp(ownLocation)
  const progressGapMs = attempt.progressGapMs ?? Math.max(o.minProgressGapMs, (o.progressBytes * 1000) / predictedBytesPerSecond)
  if (remainingBytes === 0) return { ...NO_RISK_DONE, predictedBytesPerSecond, progressGapMs }

  const remainingMs = deadlineMs - elapsedMs
  const requiredBytesPerSecond = remainingMs > 0 ? (remainingBytes * 1000) / remainingMs : Infinity
  const ownScale = s * Math.sqrt(1 / (1 + w) + o.ownRateEvidenceBytes / remainingBytes)
  const miss = remainingMs > 0 ? studentTCdf(Math.log(requiredBytesPerSecond), { degreesOfFreedom, location: ownLocation, scale: ownScale }) : 1

  const p = Math.min(failureModel.failureProbability, 1 - 1e-12)
  const hazardPerMs = -Math.log1p(-p) / Math.max((totalBytes * 1000) / Math.exp(m), progressGapMs)
  const deadOdds = Math.expm1(hazardPerMs * stalledMs)
  const dead = deadOdds === 0 ? 0 : deadOdds === Infinity ? 1 : deadOdds / (deadOdds + Math.exp(-stalledMs / progressGapMs))
  const remainingLifeMs = Math.max(0, Math.min((remainingBytes * 1000) / predictedBytesPerSecond, remainingMs))
  const failure = dead + (1 - dead) * -Math.expm1(-hazardPerMs * remainingLifeMs)
  const risk = 1 - (1 - failure) * (1 - miss)
  return { risk, failure, dead, miss, requiredBytesPerSecond, predictedBytesPerSecond, progressGapMs }
}
