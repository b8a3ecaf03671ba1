import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BackendRiskModel, FailureRateModel, HoltForecaster, compareRiskModels, normalCdf, syntheticTrace } from '../src/index.js'
import { LstmForecaster } from '../src/lstm.js'
import { seededRandom } from './simulation.js'

const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`)
const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c
const DAY = 86_400_000

test('Gamma-Poisson outage posterior matches hand-computed values (1e-12)', () => {
  // Prior Gamma(1, 30 d); 1 outage in 10 d → Gamma(2, 40 d).
  const m = FailureRateModel.create({ priorOutages: 1, priorExposureMs: 30 * DAY }).observe(10 * DAY, 1)
  close(m.shape, 2, 1e-12)
  close(m.rateMs, 40 * DAY, 1e-3)
  close(m.meanRatePerMs * DAY, 2 / 40, 1e-12)
  // P(≥ 1 outage in 1 d) = 1 − (40/41)² = 0.048185603807257…
  close(m.outageProbability(DAY), 1 - (40 / 41) ** 2, 1e-12)
  close(m.outageProbability(0), 0, 1e-15)
  // Prior only: 1 − 30/31.
  close(FailureRateModel.create().outageProbability(DAY), 1 / 31, 1e-12)
  const restored = FailureRateModel.fromJSON(JSON.parse(JSON.stringify(m)), { priorOutages: 1, priorExposureMs: 30 * DAY })
  assert.equal(restored.outageProbability(DAY), m.outageProbability(DAY))
  assert.throws(() => FailureRateModel.fromJSON({ outages: -1, exposureMs: 0 }), code('PREDICT_ERR_INVALID_STATE'))
  assert.throws(() => m.observe(-5), code('PREDICT_ERR_INVALID_ARGUMENT'))
})

test('backend risk by hand: a flat backend carries the outage prior; a linear error-rate ramp raises it as Φ((f − limit)/σ_H)', () => {
  const H = 600_000
  const step = 60_000
  const flat = new BackendRiskModel(() => new HoltForecaster({ alpha: 0.5, beta: 0.5 }), { horizonMs: H, failureRate: { priorOutages: 1, priorExposureMs: 30 * DAY } })
  for (let t = 0; t <= 10 * step; t += step) flat.observe(t, { latencyMs: 50, errorRate: 0.01 })
  const r = flat.risk()
  // Exposure 10 min: outage = 1 − (b/(b + H))^1 with b = 30 d + 10 min.
  const b = 30 * DAY + 10 * step
  close(r.outage, 1 - b / (b + H), 1e-12)
  // Zero residuals → the floors: σ_H = 0.01·√(H/step) = 0.01·√10 on the error rate; f = 0.01.
  close(r.forecastErrorRate, 0.01, 1e-12)
  const pError = normalCdf((0.01 - 0.5) / (0.01 * Math.sqrt(10)))
  const pLatency = normalCdf((Math.log(50) - Math.log(5000)) / (0.05 * Math.sqrt(10)))
  close(r.degradation, Math.max(pError, pLatency), 1e-12)
  close(r.probability, 1 - (1 - r.outage) * (1 - r.degradation), 1e-12)
  assert.ok(r.probability < 1e-3)

  // An exact line 0.01 + 0.04 per step: after its warm-up Holt extrapolates it exactly, so at t = 10
  // steps the forecast at H = 10 steps ahead is 0.41 + 0.4 = 0.81 ≥ 0.5: risk near 1 while it still answers.
  // Residuals: 0.04 at step 1 (the first forecast has no trend yet), 0 after; variance 0.04²·0.9⁹.
  const ramp = new BackendRiskModel(() => new HoltForecaster({ alpha: 0.5, beta: 0.5 }), { horizonMs: H })
  for (let i = 0; i <= 10; i++) ramp.observe(i * step, { latencyMs: 50, errorRate: 0.01 + 0.04 * i })
  const rr = ramp.risk()
  close(rr.forecastErrorRate, 0.81, 1e-9)
  const sd = Math.max(0.01, Math.sqrt(0.04 ** 2 * 0.9 ** 9)) * Math.sqrt(10)
  close(rr.degradation, normalCdf((0.81 - 0.5) / sd), 1e-9)
  assert.ok(rr.probability > 0.99)

  // Unavailable: risk 1, and the outage is counted once.
  ramp.observe(11 * step, { latencyMs: 50, errorRate: 1, available: false })
  ramp.observe(12 * step, { latencyMs: 50, errorRate: 1, available: false })
  assert.equal(ramp.risk().probability, 1)
  assert.equal(ramp.failureRate.outages, 1)
  assert.throws(() => ramp.observe(0, { latencyMs: 1, errorRate: 0 }), code('PREDICT_ERR_INVALID_ARGUMENT'))
  assert.throws(() => new BackendRiskModel(() => new HoltForecaster(), { horizonMs: 0 }), code('PREDICT_ERR_INVALID_OPTION'))
})

test('LSTM forecaster (brain.js) is deterministic per seed and follows a trend', () => {
  const run = (seed: number): number => {
    const f = new LstmForecaster({ random: seededRandom(seed) })
    for (let i = 0; i < 24; i++) f.observe(i * 1000, 10 + i)
    return f.forecast(3000)
  }
  assert.equal(run(3), run(3))
  const y = run(3)
  // The last value is 33; a rising series should not be forecast to fall far below it (loose: an LSTM is no line fitter).
  assert.ok(y > 28 && y < 45, `forecast ${y}`)
  assert.throws(() => new LstmForecaster().forecast(1), code('PREDICT_ERR_INVALID_STATE'))
  assert.throws(() => new LstmForecaster({ windowSize: 2 }), code('PREDICT_ERR_INVALID_OPTION'))
})

test('forecaster comparison on labelled traces: Holt warns before a degrading backend dies and scores the best Brier', () => {
  const rng = seededRandom(8)
  const traces = (['degrade-then-die', 'sudden-death', 'healthy'] as const).flatMap((k) => Array.from({ length: 3 }, (_, i) => syntheticTrace(k, rng, {}, `${k}-${i}`)))
  const H = 1_800_000
  let seed = 1
  const { results, best } = compareRiskModels(
    [
      { name: 'holt', create: () => new BackendRiskModel(() => new HoltForecaster(), { horizonMs: H }) },
      { name: 'lstm', create: () => new BackendRiskModel(() => new LstmForecaster({ random: seededRandom(seed++) }), { horizonMs: H }) },
    ],
    traces,
    { horizonMs: H },
  )
  const holt = results.find((r) => r.name === 'holt')!
  const lstm = results.find((r) => r.name === 'lstm')!
  assert.equal(best, 'holt')
  assert.ok(holt.brier < lstm.brier)
  // Every degrading backend is flagged ahead of its death; a sudden death cannot be.
  assert.ok(holt.leadTimesMs.some((l) => l.kind === 'degrade-then-die'), 'the traces include degrading backends')
  for (const l of holt.leadTimesMs) {
    if (l.kind === 'degrade-then-die') assert.ok(l.leadMs >= 10 * 60_000, `${l.trace}: lead ${l.leadMs} ms`)
    else assert.equal(l.leadMs, 0)
  }
  // Base rate for the Brier score: predicting the fraction of positive samples everywhere.
  assert.ok(holt.brier < 0.06, `holt brier ${holt.brier}`)
})
