import { PredictError } from './errors.js'
import { checkArgument } from './validate.js'

/**
 * Distribution of the number of successes among independent Bernoulli trials with probabilities
 * `probabilities` (the Poisson-binomial): `pmf[j]` = P(exactly j), j = 0…n. Exact, by the O(n²)
 * recurrence that adds one trial at a time: pmf'[j] = pmf[j]·(1 − p) + pmf[j − 1]·p.
 * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for a probability outside [0, 1].
 */
export function poissonBinomialPmf(probabilities: readonly number[]): number[] {
  const pmf = new Array<number>(probabilities.length + 1).fill(0)
  pmf[0] = 1
  probabilities.forEach((raw, i) => {
    const p = checkArgument(`probabilities[${i}]`, raw, { min: 0, max: 1 })
    for (let j = i + 1; j >= 1; j--) pmf[j] = pmf[j]! * (1 - p) + pmf[j - 1]! * p
    pmf[0] = pmf[0]! * (1 - p)
  })
  return pmf
}

/**
 * P(more than `count` of the independent trials succeed) = 1 − Σ_{j ≤ count} pmf[j], computed from
 * the upper tail so a tiny risk keeps its relative precision (no 1 − 0.999999… cancellation).
 * `count` < 0 gives 1; `count` ≥ n gives 0.
 * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for a probability outside [0, 1] or a non-integer count.
 */
export function probabilityMoreThan(probabilities: readonly number[], count: number): number {
  if (!Number.isInteger(count)) throw new PredictError('PREDICT_ERR_INVALID_ARGUMENT', `Expected \`count\` to be an integer, got \`${String(count)}\` (${typeof count})`)
  const pmf = poissonBinomialPmf(probabilities)
  let tail = 0
  for (let j = pmf.length - 1; j > count && j >= 0; j--) tail += pmf[j]!
  return Math.min(1, Math.max(0, tail))
}
