import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Partitioner, type PartitionerOptions } from '../src/core.js'

const KiB = 1024
const MiB = 1024 * KiB
const base: PartitionerOptions = {
  minPartitionBytes: 1 * MiB,
  maxPartitionBytes: 64 * MiB,
  initialPartitionBytes: 4 * MiB,
  partitionAlignBytes: 256 * KiB,
  targetPartitionMs: 3000,
  priority: 'normal',
}

/** Feeds `n` transfers at `bps` (1 s each) and an RTT. */
function feed(p: Partitioner, bps: number, n = 10, rttMs = 1): void {
  for (let i = 0; i < n; i++) {
    p.observeRtt(rttMs)
    p.observeTransfer(bps, 1000)
  }
}

describe('Partitioner', () => {
  test('starts at the initial size', () => {
    assert.equal(new Partitioner(base).next().bytes, 4 * MiB)
  })

  test('size follows throughput × target duration, aligned', () => {
    const p = new Partitioner(base)
    feed(p, 2 * MiB, 30) // converges to 2 MiB/s → 6 MiB for 3 s
    const { bytes, throughputBps } = p.next()
    assert.ok(Math.abs(throughputBps! - 2 * MiB) < 1)
    assert.equal(bytes, 6 * MiB)
    assert.equal(bytes % (256 * KiB), 0)
  })

  test('bounded by min and max', () => {
    const fast = new Partitioner(base)
    feed(fast, 1024 * MiB, 30)
    assert.equal(fast.next().bytes, 64 * MiB)
    const slow = new Partitioner(base)
    feed(slow, 10 * KiB, 30)
    assert.equal(slow.next().bytes, 1 * MiB)
  })

  test('shrinks when the link degrades and grows when it improves', () => {
    const p = new Partitioner(base)
    feed(p, 8 * MiB, 30)
    const good = p.next().bytes
    feed(p, 1 * MiB, 3)
    const degraded = p.next().bytes
    assert.ok(degraded < good, `${degraded} < ${good}`)
    feed(p, 8 * MiB, 3)
    const improved = p.next().bytes
    assert.ok(improved > degraded, `${improved} > ${degraded}`)
  })

  test('errors shrink partitions; successes restore them', () => {
    const p = new Partitioner(base)
    feed(p, 4 * MiB, 30)
    const before = p.next().bytes
    p.observeFailure()
    p.observeFailure()
    const after = p.next()
    assert.ok(after.bytes < before)
    assert.ok(after.errorRate > 0.4)
    feed(p, 4 * MiB, 30)
    assert.ok(p.next().bytes >= before - 256 * KiB) // the error average decays, never quite to 0
  })

  test('a long round trip makes partitions longer than the target duration', () => {
    const p = new Partitioner(base)
    feed(p, 1 * MiB, 30, 200) // 40 RTTs = 8 s > 3 s target
    assert.equal(p.next().bytes, 8 * MiB)
  })

  test('urgent priority gives small partitions, bulk large ones', () => {
    const urgent = new Partitioner({ ...base, priority: 'urgent' })
    const normal = new Partitioner(base)
    const bulk = new Partitioner({ ...base, priority: 'bulk' })
    for (const p of [urgent, normal, bulk]) feed(p, 4 * MiB, 30)
    assert.equal(urgent.next().bytes, 3 * MiB)
    assert.equal(normal.next().bytes, 12 * MiB)
    assert.equal(bulk.next().bytes, 24 * MiB)
    assert.equal(new Partitioner({ ...base, priority: 'urgent' }).next().bytes, 1 * MiB)
  })

  test('the last partition takes a tail smaller than the minimum', () => {
    const p = new Partitioner(base)
    assert.equal(p.next(4.5 * MiB).bytes, 4.5 * MiB)
    assert.equal(p.next(6 * MiB).bytes, 4 * MiB)
    assert.equal(p.next(300).bytes, 300)
    assert.equal(p.next(0).bytes, 0)
  })

  test('a share spreads a small file over parallel partitions', () => {
    const p = new Partitioner(base)
    assert.equal(p.next(8 * MiB, 4).bytes, 2 * MiB)
    assert.equal(p.next(2 * MiB, 4).bytes, 1 * MiB) // never below the minimum
  })
})
