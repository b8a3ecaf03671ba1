import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AccessModel } from '../src/index.js'

const near = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`)

describe('AccessModel', () => {
  test('a hand-built sequence: probabilities are the counts over total + prior', () => {
    const m = new AccessModel({ halfLifeMs: 1e12 })
    // A is followed by B three times and by C once; B always by A.
    const seq = ['A', 'B', 'A', 'B', 'A', 'C', 'A', 'B', 'A']
    for (let i = 1; i < seq.length; i++) m.observe(seq[i - 1]!, seq[i]!, i)
    const a = m.predict('A', 10)
    assert.deepEqual(a.map((p) => p.key), ['B', 'C'])
    near(a[0]!.probability, 3 / 5, 'P(B|A)')
    near(a[1]!.probability, 1 / 5, 'P(C|A)')
    near(m.predict('B', 10)[0]!.probability, 3 / 4, 'P(A|B)')
    near(m.predict('C', 10)[0]!.probability, 1 / 2, 'one observation is no certainty')
    assert.deepEqual(m.predict('D', 10), [])
  })

  test('old transitions fade with the half-life: a new habit takes over', () => {
    const m = new AccessModel({ halfLifeMs: 1000, priorWeight: 0 })
    for (let i = 0; i < 4; i++) m.observe('A', 'B', 0)
    m.observe('A', 'C', 2000) // B's 4 are worth 1 by now
    const p = m.predict('A', 2000)
    near(p.find((x) => x.key === 'B')!.probability, 1 / 2, 'P(B|A) after two half-lives')
    near(p.find((x) => x.key === 'C')!.probability, 1 / 2, 'P(C|A)')
    near(m.predict('A', 3000)[0]!.probability, 1 / 2, 'decay alone leaves the ratios')
  })

  test('memory is bounded: states and successors beyond the limits go, the lightest and oldest first', () => {
    const m = new AccessModel({ maxStates: 3, maxSuccessors: 2, halfLifeMs: 1e12 })
    m.observe('A', 'x', 0)
    m.observe('A', 'x', 0)
    m.observe('A', 'y', 0)
    m.observe('A', 'z', 0) // y or z (weight 1) goes; x stays, and the dropped weight stays in the total
    const a = m.predict('A', 0)
    assert.equal(a.length, 2)
    near(a[0]!.probability, 2 / 5, 'P(x|A) still over every transition seen')
    for (const s of ['B', 'C', 'D']) m.observe(s, 'A', 1)
    assert.equal(m.size, 3)
    assert.deepEqual(m.predict('A', 1), [], 'A, least recently observed, went')
  })

  test('invalid options and times are refused with stable codes', () => {
    assert.throws(() => new AccessModel({ halfLifeMs: 0 }), { code: 'PREDICT_ERR_INVALID_OPTION', message: /halfLifeMs/ })
    assert.throws(() => new AccessModel().observe('a', 'b', Number.NaN), { code: 'PREDICT_ERR_INVALID_ARGUMENT' })
  })
})
