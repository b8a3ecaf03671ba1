import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ThroughputModel } from '../src/index.js'

// Hand computations below are a handful of floating-point operations: 1e-10 absolute tolerance.
const TOL = 1e-10
const close = (actual: number, expected: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= TOL, `${what} expected ${expected}, got ${actual}`)
const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c

// Prior: median 1 MB/s → m0 = ln 1e6, κ0 = 1, ν0 = 4, σ0 = 1 → a0 = ν0/2 = 2, b0 = ν0·σ0²/2 = 2
const prior = { priorMedianBytesPerSecond: 1e6, priorMeanWeight: 1, priorLogSd: 1, priorVarianceWeight: 4, halfLifeMs: Infinity }

test('NIG posterior matches the textbook sequential update step by step', () => {
  let m = ThroughputModel.create(prior)
  let mu = Math.log(1e6)
  let kappa = 1
  let alpha = 2
  let beta = 2
  close(m.posterior.mu, mu)
  close(m.posterior.beta, beta)
  for (const [i, bps] of [2e6, 5e5, 1e6, 3e6].entries()) {
    const x = Math.log(bps)
    // textbook: κ' = κ + 1, μ' = (κμ + x)/(κ + 1), α' = α + ½, β' = β + κ(x − μ)² / (2(κ + 1))
    beta = beta + (kappa * (x - mu) ** 2) / (2 * (kappa + 1))
    mu = (kappa * mu + x) / (kappa + 1)
    kappa = kappa + 1
    alpha = alpha + 0.5
    m = m.observe(bps, i * 1000)
    close(m.posterior.mu, mu, `mu step ${i}`)
    close(m.posterior.kappa, kappa, `kappa step ${i}`)
    close(m.posterior.alpha, alpha, `alpha step ${i}`)
    close(m.posterior.beta, beta, `beta step ${i}`)
  }
  // predictive: Student-t, ν = 2α, location μ, scale √(β(κ + 1)/(ακ))
  close(m.predictive.degreesOfFreedom, 2 * alpha)
  close(m.predictive.location, mu)
  close(m.predictive.scale, Math.sqrt((beta * (kappa + 1)) / (alpha * kappa)))
  close(m.medianBytesPerSecond, Math.exp(mu) , 'median')
  close(m.predictiveCdf(Math.exp(mu)), 0.5)
  for (const p of [0.05, 0.5, 0.9]) assert.ok(Math.abs(m.predictiveCdf(m.predictiveQuantile(p)) - p) < 1e-9)
  assert.equal(m.predictiveCdf(0), 0)
})

test('an observation of weight 2 equals two identical observations', () => {
  const twice = ThroughputModel.create(prior).observe(4e6, 0).observe(4e6, 0)
  const weighted = ThroughputModel.create(prior).observe(4e6, 0, 2)
  // textbook with w = 2: β' = β0 + κ0·w·(x − μ0)² / (2(κ0 + w)) = 2 + 2·(ln 4)²/6
  close(weighted.posterior.beta, 2 + (2 * Math.log(4) ** 2) / 6)
  for (const k of ['mu', 'kappa', 'alpha', 'beta'] as const) close(weighted.posterior[k], twice.posterior[k], k)
})

test('forgetting halves the evidence (n and S) after one half-life; the prior stays', () => {
  const H = 120_000
  const x1 = Math.log(2e6)
  const x2 = Math.log(8e6)
  const m = ThroughputModel.create({ ...prior, halfLifeMs: H }).observe(2e6, 0).observe(8e6, 0).decayTo(H)
  // stats before decay: n = 2, x̄ = (x1 + x2)/2, S = (x1 − x2)²/2; after one half-life n = 1, S halves
  const n = 1
  const mean = (x1 + x2) / 2
  const S = ((x1 - x2) ** 2 / 2) * 0.5
  close(m.weight, n)
  close(m.meanLog, mean)
  close(m.sumSquares, S)
  // posterior from stats: κ = κ0 + n, μ = (κ0 m0 + n x̄)/κ, α = a0 + n/2, β = b0 + S/2 + κ0 n (x̄ − m0)²/(2κ)
  const m0 = Math.log(1e6)
  close(m.posterior.kappa, 1 + n)
  close(m.posterior.mu, (m0 + n * mean) / (1 + n))
  close(m.posterior.alpha, 2 + n / 2)
  close(m.posterior.beta, 2 + S / 2 + (n * (mean - m0) ** 2) / (2 * (1 + n)))
  // long silence: back to the prior predictive
  close(m.decayTo(1e13).predictive.location, m0)
})

test('state round-trips through JSON; bad observations and state are rejected', () => {
  const m = ThroughputModel.create().observe(3e6, 10).observe(1e6, 5_000, 0.5)
  const r = ThroughputModel.fromJSON(JSON.parse(JSON.stringify(m)))
  assert.deepEqual(r.toJSON(), m.toJSON())
  assert.deepEqual(r.predictive, m.predictive)
  assert.throws(() => m.observe(0, 1), code('PREDICT_ERR_INVALID_ARGUMENT'))
  assert.throws(() => m.observe(1e6, 1, -1), code('PREDICT_ERR_INVALID_ARGUMENT'))
  assert.throws(() => m.predictiveQuantile(2), code('PREDICT_ERR_INVALID_ARGUMENT'))
  assert.throws(() => ThroughputModel.fromJSON({ weight: 1, meanLog: 'x', sumSquares: 0, lastObservedMs: 0 }), code('PREDICT_ERR_INVALID_STATE'))
})
