import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TokenBucket } from '../src/token-bucket.js'

test('a capped bucket grants nothing below its minimum grant, so a pump sleeps instead of spinning', () => {
  // 20 Mbit/s = 2500 bytes/ms; burst = 50 ms of rate = 125,000 bytes; minimum grant 16 KiB.
  const bucket = new TokenBucket([{ bitsPerSecond: 20e6, durationMs: 60_000 }], false, 0)
  assert.equal(bucket.take(1_000_000, 0), 125_000, 'the initial burst')
  // 1 ms later only 2,500 tokens: a few bytes at a time is what used to block the event loop.
  assert.equal(bucket.take(1_000_000, 1), 0)
  const wait = bucket.waitMs(1_000_000, 1)
  assert.ok(wait >= 6, `waits for a 16 KiB grant, got ${wait} ms`)
  assert.ok(bucket.take(1_000_000, 1 + wait) >= 16 * 1024)
  // A small write is granted as soon as its own size is there.
  const small = new TokenBucket([{ bitsPerSecond: 20e6, durationMs: 60_000 }], false, 0)
  small.take(125_000, 0)
  assert.equal(small.take(2_000, 1), 2_000)
})
