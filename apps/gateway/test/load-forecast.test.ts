// The read path's per-backend load forecast and imbalance score, on hand-built read counts.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { LoadForecast } from '../src/read/load-forecast.js'

const near = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`)

describe('LoadForecast', () => {
  test('reads per second per window, a forecast of them, and the busy share against the mean', () => {
    const load = new LoadForecast(0)
    load.sample(0, [{ backend: 'a', reads: 0, predictedMs: 10 }, { backend: 'b', reads: 0, predictedMs: 10 }])
    assert.deepEqual(load.snapshot().backends, [], 'the first sample is the baseline')
    // 10 s: a did 300 reads (30/s), b 100 (10/s); both predicted 10 ms a read.
    load.sample(10_000, [{ backend: 'a', reads: 300, predictedMs: 10 }, { backend: 'b', reads: 100, predictedMs: 10 }])
    const [a, b] = load.snapshot().backends
    near(a!.readsPerSecond, 30, 'a reads/s')
    near(a!.forecastReadsPerSecond, 30, 'a forecast (first observation = level)')
    near(a!.busy, 0.3, 'a busy share')
    near(b!.busy, 0.1, 'b busy share')
    near(a!.imbalance, 0.3 / 0.2 - 1, 'a imbalance')
    near(b!.imbalance, 0.1 / 0.2 - 1, 'b imbalance')
  })

  test('a slower backend with the same reads is the busier one; nothing read is balanced', () => {
    const load = new LoadForecast(0)
    load.sample(0, [{ backend: 'a', reads: 0, predictedMs: 50 }, { backend: 'b', reads: 0, predictedMs: 5 }])
    load.sample(1000, [{ backend: 'a', reads: 10, predictedMs: 50 }, { backend: 'b', reads: 10, predictedMs: 5 }])
    const [a, b] = load.snapshot().backends
    assert.ok(a!.imbalance > 0 && b!.imbalance < 0)
    load.sample(2000, [{ backend: 'a', reads: 10, predictedMs: 50 }, { backend: 'b', reads: 10, predictedMs: 5 }])
    // Holt with the default weights: level 0.3 · 0 + 0.7 · 10 = 7 reads/s, trend pulled down.
    assert.ok(load.snapshot().backends.every((x) => x.readsPerSecond === 0 && x.forecastReadsPerSecond < 10))
  })
})
