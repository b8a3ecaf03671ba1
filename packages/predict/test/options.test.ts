import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  PredictError,
  defaultAttemptRiskOptions,
  defaultFailureModelOptions,
  defaultHedgeDecisionOptions,
  defaultHoltForecasterOptions,
  defaultThroughputModelOptions,
  resolveAttemptRiskOptions,
  resolveFailureModelOptions,
  resolveHedgeDecisionOptions,
  resolveHoltForecasterOptions,
  resolveThroughputModelOptions,
} from '../src/index.js'

const resolvers: [string, (o: never) => object, object, [string, unknown][]][] = [
  ['FailureModel', resolveFailureModelOptions, defaultFailureModelOptions, [['priorAlpha', 0], ['priorBeta', -1], ['halfLifeMs', 0], ['halfLifeMs', '5m'], ['forgettingFactor', 1.5], ['forgettingFactor', 0]]],
  ['ThroughputModel', resolveThroughputModelOptions, defaultThroughputModelOptions, [['priorMedianBytesPerSecond', 0], ['priorMeanWeight', -1], ['priorLogSd', Number.NaN], ['priorVarianceWeight', Infinity], ['halfLifeMs', -5], ['forgettingFactor', 2]]],
  ['AttemptRisk', resolveAttemptRiskOptions, defaultAttemptRiskOptions, [['progressBytes', 0], ['minProgressGapMs', -1], ['ownRateEvidenceBytes', null]]],
  ['HedgeDecision', resolveHedgeDecisionOptions, defaultHedgeDecisionOptions, [['riskThreshold', 1.1], ['riskThreshold', -0.1], ['budgetFraction', -0.01]]],
  ['HoltForecaster', resolveHoltForecasterOptions, defaultHoltForecasterOptions, [['alpha', 0], ['alpha', 1.01], ['beta', -0.5]]],
]

for (const [name, resolve, defaults, bad] of resolvers) {
  test(`${name} options: defaults, no mutation, invalid values rejected naming the option`, () => {
    assert.ok(Object.isFrozen(defaults))
    assert.deepEqual(resolve({} as never), defaults)
    assert.deepEqual(resolve(undefined as never), defaults)
    const input = Object.freeze({ ...defaults })
    const resolved = resolve(input as never)
    assert.notEqual(resolved, input)
    assert.ok(Object.isFrozen(resolved))
    // undefined fields fall back to the default
    const [firstKey] = Object.keys(defaults)
    assert.deepEqual(resolve({ [firstKey!]: undefined } as never), defaults)
    for (const [option, value] of bad) {
      assert.throws(
        () => resolve({ [option]: value } as never),
        (err: unknown) =>
          err instanceof PredictError &&
          err.code === 'PREDICT_ERR_INVALID_OPTION' &&
          err.message.startsWith(`Expected \`${option}\` to be`) &&
          err.message.includes(`got \`${typeof value === 'string' ? JSON.stringify(value) : String(value)}\``),
        `${option} = ${String(value)}`,
      )
    }
    assert.throws(() => resolve(42 as never), (err: unknown) => err instanceof PredictError && err.code === 'PREDICT_ERR_INVALID_OPTION')
  })
}

test('the message says what was expected and what came, p-queue style', () => {
  assert.throws(() => resolveFailureModelOptions({ halfLifeMs: -1 }), {
    code: 'PREDICT_ERR_INVALID_OPTION',
    message: 'Expected `halfLifeMs` to be a number (Infinity allowed) greater than 0, got `-1` (number)',
  })
})

test('src is pure: no node: imports, no clock, no Math.random, no timers', () => {
  const dir = new URL('../src/', import.meta.url)
  for (const file of readdirSync(dir, { recursive: true }) as string[]) {
    if (!file.endsWith('.ts')) continue
    let text = readFileSync(new URL(file, dir), 'utf8')
    // The LSTM entry swaps the caller's seeded generator in for Math.random around each brain.js call
    // (brain.js draws initial weights from it); that swap is the one allowed mention.
    if (file === 'lstm-forecaster.ts') text = text.split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*\*)/.test(l)).join('\n').replace('const original = Math.random', '').replace('Math.random = this.options.random', '').replace('Math.random = original', '')
    for (const banned of [/from ['"]node:/, /Date\.now/, /Math\.random/, /set(Timeout|Interval|Immediate)\(/, /performance\.now/, /process\./]) {
      assert.ok(!banned.test(text), `${file} matches ${banned}`)
    }
  }
})
