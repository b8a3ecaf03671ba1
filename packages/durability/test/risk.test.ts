import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FailureRateModel } from '@tessera/predict'
import { RiskTracker, type HealthRecord } from '../src/index.js'

function rec(tMs: number, latencyMs: number, errorRate = 0, available = true): HealthRecord {
  return { tMs, windowMs: 60_000, latencyMs, errorRate, available, ops: 20, errors: Math.round(errorRate * 20), corrupt: 0, bytesRead: 0, bytesWritten: 0, throughputBytesPerSecond: 0, empty: false }
}

const ids = ['b0', 'b1', 'b2', 'b3', 'b4']

describe('RiskTracker', () => {
  it('reports the prior outage risk for a backend not sampled yet, and only that during the warm-up', () => {
    const risk = new RiskTracker({ warmupSamples: 3 })
    const prior = FailureRateModel.create().outageProbability(1_800_000)
    assert.equal(risk.backendRisk('b0').probability, prior)
    assert.equal(risk.backendRisk('b0').samples, 0)
    // A steep error trend from the first two windows would forecast > 50 % errors: not yet trusted.
    risk.observe('b0', rec(60_000, 10, 0))
    risk.observe('b0', rec(120_000, 10, 0.2))
    assert.equal(risk.backendRisk('b0').degradation, 0)
    risk.observe('b0', rec(180_000, 10, 0.4))
    assert.ok(risk.backendRisk('b0').probability > 0.5)
    // Down is down, warm or not.
    const fresh = new RiskTracker()
    fresh.observe('b1', rec(60_000, 10, 1, false))
    assert.equal(fresh.backendRisk('b1').probability, 1)
    assert.equal(fresh.backendRisk('b1').unavailable, true)
  })

  it('does not read a slowdown of every backend at once as each of them failing, but does read one backend’s', () => {
    const together = new RiskTracker()
    const alone = new RiskTracker()
    for (let w = 1; w <= 20; w++) {
      // From window 8 on latency grows ×1.5 per window (10 ms → ~1.3 s): on every backend, or on b0 only.
      const slow = w < 8 ? 10 : 10 * 1.5 ** (w - 7)
      together.observeWindow(new Map(ids.map((id) => [id, rec(w * 60_000, slow)])))
      alone.observeWindow(new Map(ids.map((id) => [id, rec(w * 60_000, id === 'b0' ? slow : 10)])))
    }
    for (const id of ids) assert.ok(together.backendRisk(id).degradation < 0.01, `${id} ${together.backendRisk(id).degradation}`)
    assert.ok(alone.backendRisk('b0').degradation > 0.5)
    assert.ok(alone.backendRisk('b1').degradation < 0.01)
    assert.equal(alone.baselineLatencyMs, 10)
  })

  it('counts the forecast spread of a noisy but flat series only when the trend gate is off', () => {
    const gated = new RiskTracker()
    const open = new RiskTracker({ trendGate: 0 })
    for (let w = 1; w <= 30; w++) {
      const noisy = w % 2 === 0 ? 5 : 400 // flat on average, but ln latency jumps ±2.2 every window
      gated.observe('b0', rec(w * 60_000, noisy))
      open.observe('b0', rec(w * 60_000, noisy))
    }
    assert.ok(open.backendRisk('b0').degradation > 0.001, `raw ${open.backendRisk('b0').degradation}`)
    assert.equal(gated.backendRisk('b0').degradation, 0)
    assert.equal(gated.backendRisk('b0').probability, gated.backendRisk('b0').outage)
    assert.throws(() => new RiskTracker({ trendGate: 2 }), { code: 'DURABILITY_ERR_INVALID_OPTION', message: /trendGate/ })
  })
})
