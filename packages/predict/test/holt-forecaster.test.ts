import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HoltForecaster } from '../src/index.js'

// Exact arithmetic up to rounding on values ~1e3: 1e-9 absolute.
const close = (actual: number, expected: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= 1e-9, `${what} expected ${expected}, got ${actual}`)
const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c

test('a linear series at irregular times is extrapolated exactly after warm-up (two observations)', () => {
  const line = (t: number) => 3 + 0.25 * t
  const f = new HoltForecaster({ alpha: 0.2, beta: 0.1 })
  const times = [0, 40, 41, 300, 310, 1000, 1000, 1700]
  for (const [i, t] of times.entries()) {
    f.observe(t, line(t))
    if (i >= 1) for (const h of [0, 1, 250, 10_000]) close(f.forecast(h), line(t + h), `after t=${t} h=${h}`)
  }
})

test('a constant series stays constant, with and without trend', () => {
  for (const beta of [0.3, 0]) {
    const f = new HoltForecaster({ alpha: 0.5, beta })
    for (const t of [5, 6, 100, 101, 5000]) f.observe(t, 42)
    close(f.forecast(0), 42)
    close(f.forecast(1e6), 42)
  }
})

test('beta = 0 is an EWMA of the observations', () => {
  const f = new HoltForecaster({ alpha: 0.25, beta: 0 })
  f.observe(0, 10)
  f.observe(10, 20) // 0.25·20 + 0.75·10 = 12.5
  f.observe(30, 0) //  0.25·0 + 0.75·12.5 = 9.375
  close(f.forecast(0), 9.375)
  close(f.forecast(1e9), 9.375)
})

test('smoothing follows the recurrence by hand', () => {
  const f = new HoltForecaster({ alpha: 0.5, beta: 0.5 })
  f.observe(0, 0)
  f.observe(10, 10) // warm-up: level 10, trend (10 − 0)/10 = 1 per ms
  f.observe(20, 10) // level = 0.5·10 + 0.5·(10 + 1·10) = 15; trend = 0.5·(15 − 10)/10 + 0.5·1 = 0.75
  close(f.forecast(0), 15)
  close(f.forecast(4), 15 + 0.75 * 4)
})

test('state round-trips; out-of-order times and early forecasts are rejected', () => {
  const f = new HoltForecaster()
  assert.throws(() => f.forecast(10), code('PREDICT_ERR_INVALID_STATE'))
  f.observe(100, 1)
  f.observe(200, 3)
  assert.throws(() => f.observe(150, 2), code('PREDICT_ERR_INVALID_ARGUMENT'))
  assert.throws(() => f.forecast(-1), code('PREDICT_ERR_INVALID_ARGUMENT'))
  const g = new HoltForecaster(undefined, JSON.parse(JSON.stringify(f)))
  assert.equal(g.forecast(50), f.forecast(50))
  assert.throws(() => new HoltForecaster(undefined, { level: 1, trendPerMs: null, lastObservedMs: null }), code('PREDICT_ERR_INVALID_STATE'))
})
