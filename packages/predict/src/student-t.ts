import { regularizedIncompleteBeta } from './beta-distribution.js'
import { checkArgument } from './validate.js'

/**
 * A location-scale Student-t distribution: X = location + scale · T with T ~ t(degreesOfFreedom).
 * In this package it is the posterior predictive of a natural-log throughput, ln(bytes/s).
 */
export interface StudentT {
  /** ν > 0. Large ν is close to a Normal. */
  readonly degreesOfFreedom: number
  /** Median (and mean when ν > 1), in the units of X. */
  readonly location: number
  /** Scale > 0, in the units of X (not the standard deviation: that is scale·√(ν/(ν−2)) for ν > 2). */
  readonly scale: number
}

// Above this ν the t CDF is evaluated through a Normal with the Peiser/Fisher correction (error ≪ 1e-5),
// because the incomplete beta continued fraction needs O(√ν) iterations.
const NORMAL_APPROXIMATION_DOF = 400

// erfc to ~1e-13 relative: the all-positive series erf(x) = 2/√π·e^{−x²}·Σ (2x²)^n·x/(1·3·…·(2n+1)) below 3,
// the Laplace continued fraction erfc(x) = e^{−x²}/√π / (x + ½/(x + 1/(x + 3/2/(x + …)))) above.
function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x)
  if (x < 3) {
    let term = x
    let sum = x
    for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
      term *= (2 * x * x) / (2 * n + 1)
      sum += term
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum
  }
  let f = x
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f
}

/** Standard Normal CDF Φ(z), to ~1e-13 relative (erfc above). Exported for the risk models. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2)
}

function standardTCdf(t: number, dof: number): number {
  if (t === Infinity) return 1
  if (t === -Infinity) return 0
  if (dof > NORMAL_APPROXIMATION_DOF) {
    const z = (t * (1 - 1 / (4 * dof))) / Math.sqrt(1 + (t * t) / (2 * dof))
    return 0.5 * erfc(-z / Math.SQRT2)
  }
  const tail = 0.5 * regularizedIncompleteBeta(dof / (dof + t * t), dof / 2, 0.5)
  return t > 0 ? 1 - tail : tail
}

/**
 * P(X ≤ x) for X ~ `dist`. Cheap (one incomplete-beta continued fraction, typically < 30 steps):
 * fit for a hot loop. Preconditions (not checked): dist.degreesOfFreedom > 0, dist.scale > 0.
 */
export function studentTCdf(x: number, dist: StudentT): number {
  return standardTCdf((x - dist.location) / dist.scale, dist.degreesOfFreedom)
}

/**
 * The x with P(X ≤ x) = p for X ~ `dist`, by bracketing and bisection on the CDF (≈ 100 CDF
 * evaluations; not for a hot loop). Returns ±Infinity for p = 0 or 1.
 * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` unless 0 ≤ p ≤ 1.
 */
export function studentTQuantile(p: number, dist: StudentT): number {
  checkArgument('p', p, { min: 0, max: 1 })
  if (p === 0) return -Infinity
  if (p === 1) return Infinity
  if (p === 0.5) return dist.location
  const dof = dist.degreesOfFreedom
  let lo = -1
  let hi = 1
  while (standardTCdf(lo, dof) > p) lo *= 2
  while (standardTCdf(hi, dof) < p) hi *= 2
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, Math.abs(lo)); i++) {
    const mid = (lo + hi) / 2
    if (standardTCdf(mid, dof) < p) lo = mid
    else hi = mid
  }
  return dist.location + dist.scale * ((lo + hi) / 2)
}
