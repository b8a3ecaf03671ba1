import assert from 'node:assert/strict'
import { test } from 'node:test'
import { betaQuantile, regularizedIncompleteBeta, studentTCdf, studentTQuantile } from '../src/index.js'

// Tolerances: the incomplete beta continued fraction converges to ~1e-14; the large-ν Normal
// approximation and the erfc fit are good to ~1e-6.
const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`)

test('Student-t CDF matches the closed forms for ν = 1 (Cauchy) and ν = 2', () => {
  for (const x of [-30, -3, -1, -0.2, 0, 0.5, 1, 2.5, 40]) {
    close(studentTCdf(x, { degreesOfFreedom: 1, location: 0, scale: 1 }), 0.5 + Math.atan(x) / Math.PI, 1e-12, `ν=1 x=${x}`)
    close(studentTCdf(x, { degreesOfFreedom: 2, location: 0, scale: 1 }), 0.5 + x / (2 * Math.sqrt(2 + x * x)), 1e-12, `ν=2 x=${x}`)
  }
  // location-scale: P(X ≤ 5) for X = 3 + 2T is P(T ≤ 1)
  close(studentTCdf(5, { degreesOfFreedom: 1, location: 3, scale: 2 }), 0.75, 1e-12)
})

test('Student-t CDF is continuous across the switch to the Normal approximation and tends to Φ', () => {
  for (const x of [-2, -0.5, 0.3, 1.96]) {
    const below = studentTCdf(x, { degreesOfFreedom: 399.999, location: 0, scale: 1 })
    const above = studentTCdf(x, { degreesOfFreedom: 400.001, location: 0, scale: 1 })
    close(below, above, 2e-6, `x=${x}`)
  }
  close(studentTCdf(1.959963984540054, { degreesOfFreedom: 1e9, location: 0, scale: 1 }), 0.975, 2e-7)
})

test('Student-t quantile inverts the CDF', () => {
  for (const dof of [1, 2.5, 7, 60, 5000]) {
    for (const p of [0.001, 0.05, 0.3, 0.5, 0.9, 0.999]) {
      const dist = { degreesOfFreedom: dof, location: 13.8, scale: 0.7 }
      close(studentTCdf(studentTQuantile(p, dist), dist), p, 1e-9, `ν=${dof} p=${p}`)
    }
  }
  // ν = 1: quantile = tan(π (p − ½))
  close(studentTQuantile(0.9, { degreesOfFreedom: 1, location: 0, scale: 1 }), Math.tan(Math.PI * 0.4), 1e-9)
})

test('incomplete beta and Beta quantile match closed forms', () => {
  // Beta(1,1) is uniform; Beta(2,1) has CDF x²; Beta(1,3) has CDF 1 − (1 − x)³
  close(regularizedIncompleteBeta(0.3, 1, 1), 0.3, 1e-13)
  close(regularizedIncompleteBeta(0.3, 2, 1), 0.09, 1e-13)
  close(regularizedIncompleteBeta(0.3, 1, 3), 1 - 0.7 ** 3, 1e-13)
  close(betaQuantile(0.95, 1, 1), 0.95, 1e-12)
  close(betaQuantile(0.95, 2, 1), Math.sqrt(0.95), 1e-12)
  close(betaQuantile(0.5, 1, 3), 1 - 0.5 ** (1 / 3), 1e-12)
})
