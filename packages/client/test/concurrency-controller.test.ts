import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ConcurrencyController } from '../src/core.js'

/** Completes a full round at the current level with `bps`. */
function round(c: ConcurrencyController, bps: number): number {
  const n = c.level
  let level = n
  for (let i = 0; i < n; i++) level = c.onCompleted(bps)
  return level
}

describe('ConcurrencyController', () => {
  test('raises the level while throughput grows, and stops when it does not', () => {
    const c = new ConcurrencyController({ initial: 2, min: 1, max: 8 })
    assert.equal(round(c, 100), 3) // nothing measured below: try one more
    assert.equal(round(c, 150), 4) // +50 %
    assert.equal(round(c, 200), 5) // +33 %
    assert.equal(round(c, 205), 5) // +2.5 %: not worth one more
  })

  test('steps back when more parallelism is slower', () => {
    const c = new ConcurrencyController({ initial: 2, min: 1, max: 8 })
    round(c, 100)
    assert.equal(round(c, 80), 2)
  })

  test('each failure takes one away, down to the minimum', () => {
    const c = new ConcurrencyController({ initial: 4, min: 2, max: 8 })
    assert.equal(c.onFailure(), 3)
    assert.equal(c.onFailure(), 2)
    assert.equal(c.onFailure(), 2)
  })

  test('never above the maximum', () => {
    const c = new ConcurrencyController({ initial: 3, min: 1, max: 4 })
    round(c, 100)
    assert.equal(c.level, 4)
    assert.equal(round(c, 1000), 4)
  })
})
