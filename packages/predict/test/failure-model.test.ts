import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FailureModel } from '../src/index.js'

// Posteriors are exact arithmetic on a few numbers: 1e-12 absolute covers floating-point rounding.
const TOL = 1e-12
const close = (actual: number, expected: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= TOL, `${what} expected ${expected}, got ${actual}`)
const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c

function observeMany(model: FailureModel, failures: number, successes: number, atMs: number): FailureModel {
  for (let i = 0; i < failures; i++) model = model.observe('failure', atMs)
  for (let i = 0; i < successes; i++) model = model.observe('success', atMs)
  return model
}

test('Beta(1,1) + 3 failures + 7 successes without forgetting is Beta(4, 8), mean 4/12', () => {
  const m = observeMany(FailureModel.create({ priorAlpha: 1, priorBeta: 1, halfLifeMs: Infinity }), 3, 7, 0)
  close(m.alpha, 1 + 3)
  close(m.beta, 1 + 7)
  close(m.failureProbability, 4 / 12)
  // times do not matter without forgetting
  const spread = [0, 1e9, 2e9].reduce((acc, t) => acc.observe('failure', t), FailureModel.create({ priorAlpha: 1, priorBeta: 1, halfLifeMs: Infinity }))
  close(spread.alpha, 4)
})

test('time-based forgetting halves the excess counts after one half-life', () => {
  const H = 60_000
  const m0 = observeMany(FailureModel.create({ priorAlpha: 1, priorBeta: 1, halfLifeMs: H }), 3, 7, 5_000)
  // all at the same instant: no decay, excess (3, 7)
  close(m0.failures, 3)
  close(m0.successes, 7)
  // Δt = H: excess (3, 7) → (1.5, 3.5), then the success adds 1 → α = 1 + 1.5, β = 1 + 4.5
  const m1 = m0.observe('success', 5_000 + H)
  close(m1.alpha, 1 + 3 / 2)
  close(m1.beta, 1 + 7 / 2 + 1)
  close(m1.failureProbability, 2.5 / (2.5 + 5.5))
  // decayTo 2H later: excess × 0.25 → α = 1 + 1.5/4, β = 1 + 4.5/4; the prior itself never decays
  const m2 = m1.decayTo(5_000 + 3 * H)
  close(m2.alpha, 1 + 1.5 / 4)
  close(m2.beta, 1 + 4.5 / 4)
  close(m1.decayTo(1e15).failureProbability, 0.5)
  // an observation earlier than the clock neither decays nor moves the clock back
  const late = m1.observe('failure', 0)
  close(late.failures, 1.5 + 1)
  assert.equal(late.lastObservedMs, 5_000 + H)
})

test('per-observation forgetting multiplies the excess before each observation', () => {
  // factor 0.5: failures 0 → 1 → 0.5·1 + 1 = 1.5 → 0.75 + 1 = 1.75; successes stay 0
  const m = observeMany(FailureModel.create({ priorAlpha: 1, priorBeta: 1, halfLifeMs: Infinity, forgettingFactor: 0.5 }), 3, 0, 0)
  close(m.failures, 1.75)
  close(m.alpha, 2.75)
})

test('credible upper bound is the Beta quantile and exceeds the mean', () => {
  // Beta(2, 1): CDF x², so the 95 % upper bound is √0.95
  const m = FailureModel.create({ priorAlpha: 1, priorBeta: 1, halfLifeMs: Infinity }).observe('failure', 0)
  assert.ok(Math.abs(m.upperBound(0.95) - Math.sqrt(0.95)) < 1e-12)
  const d = FailureModel.create()
  assert.ok(d.upperBound() > d.failureProbability)
})

test('state round-trips through JSON and malformed state is rejected', () => {
  const m = observeMany(FailureModel.create(), 2, 5, 1_000).observe('success', 90_000)
  const restored = FailureModel.fromJSON(JSON.parse(JSON.stringify(m)))
  assert.deepEqual(restored.toJSON(), m.toJSON())
  close(restored.failureProbability, m.failureProbability)
  assert.throws(() => FailureModel.fromJSON({ failures: -1, successes: 0, lastObservedMs: null }), code('PREDICT_ERR_INVALID_STATE'))
  assert.throws(() => FailureModel.fromJSON('nope'), code('PREDICT_ERR_INVALID_STATE'))
  assert.throws(() => m.observe('maybe' as 'success', 0), code('PREDICT_ERR_INVALID_ARGUMENT'))
  assert.throws(() => m.observe('success', Number.NaN), code('PREDICT_ERR_INVALID_ARGUMENT'))
})
