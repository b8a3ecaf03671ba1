// LruMap: the bound on the attempt hashes and session digests the gateway keeps in memory.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LruMap } from '../src/reconciliation/lru-map.js'

test('the least recently used entry is evicted, and returned to the caller', () => {
  const m = new LruMap<string, number>(2)
  assert.equal(m.set('a', 1), undefined)
  assert.equal(m.set('b', 2), undefined)
  assert.equal(m.get('a'), 1) // a is now newer than b
  assert.equal(m.set('c', 3), 2)
  assert.equal(m.get('b'), undefined)
  assert.equal(m.set('a', 10), undefined) // replacing a kept key evicts nothing
  assert.equal(m.get('a'), 10)
  m.delete('a')
  assert.equal(m.get('a'), undefined)
  assert.equal(m.get('c'), 3)
})
