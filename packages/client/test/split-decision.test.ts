// The split decisions are pure: checked here against hand-computed cases.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cutDecision, splitDecision, type SplitThresholds } from '../src/split-decision.js'

const KiB = 1024
const t: SplitThresholds = { targetPartitionMs: 1000, factor: 3, minPartitionBytes: 256 * KiB, windowMs: 1000 }

test('cutDecision: a PATCH that has run factor × targetPartitionMs is cut, whatever its socket did', () => {
  // The socket took the whole body at once (buffers): no rate to go by, only the time.
  const samples = [{ atMs: 0, bytes: 0 }, { atMs: 100, bytes: 2048 * KiB }, { atMs: 2999, bytes: 2048 * KiB }]
  assert.equal(cutDecision(samples, { startedMs: 0 }, 2048 * KiB, t).cut, false)
  assert.equal(cutDecision([...samples, { atMs: 3000, bytes: 2048 * KiB }], { startedMs: 0 }, 2048 * KiB, t).cut, true)
})

test('cutDecision: a socket taking the body slowly is cut early when its rest would take > factor × target', () => {
  // 100 KiB/s over the last second; 1 MiB left → 10.24 s > 3 s.
  const slow = [{ atMs: 0, bytes: 0 }, { atMs: 1000, bytes: 100 * KiB }]
  const v = cutDecision(slow, { startedMs: 0 }, 1124 * KiB, t)
  assert.equal(v.cut, true)
  assert.equal(v.socketRateBps, 100 * KiB)
  // 1 MiB/s: 1 MiB left → 1 s, no.
  assert.equal(cutDecision([{ atMs: 0, bytes: 0 }, { atMs: 1000, bytes: 1024 * KiB }], { startedMs: 0 }, 2048 * KiB, t).cut, false)
  // The window is not full yet: no rate, no cut.
  assert.equal(cutDecision([{ atMs: 0, bytes: 0 }, { atMs: 999, bytes: 1 }], { startedMs: 0 }, 2048 * KiB, t).cut, false)
  // A silent socket is not a reason (the hedge loop's business).
  assert.equal(cutDecision([{ atMs: 0, bytes: 5 }, { atMs: 1500, bytes: 5 }], { startedMs: 0 }, 2048 * KiB, t).cut, false)
  // A rest below minPartitionBytes is not worth it.
  assert.equal(cutDecision([{ atMs: 0, bytes: 0 }, { atMs: 1000, bytes: 1 * KiB }], { startedMs: 0 }, 200 * KiB, t).cut, false)
})

test('splitDecision: split when the rest would take longer than one partition at the committed rate', () => {
  // 300 KiB through in 3 s = 100 KiB/s; 700 KiB left → 7 s > 1 s.
  const s = splitDecision(700 * KiB, 300 * KiB, 3000, t)
  assert.deepEqual(s, { split: true, rateBps: 100 * KiB, remainingMs: 7000 })
  // Nearly done: 300 KiB left at 1 MiB/s → 293 ms.
  assert.equal(splitDecision(300 * KiB, 3 * 1024 * KiB, 3000, t).split, false)
  // Too little left to re-partition.
  assert.equal(splitDecision(255 * KiB, 1 * KiB, 3000, t).split, false)
  // Nothing got through: the rate is 0, the rest would never finish.
  assert.deepEqual(splitDecision(700 * KiB, 0, 3000, t), { split: true, rateBps: 0, remainingMs: Number.POSITIVE_INFINITY })
})
