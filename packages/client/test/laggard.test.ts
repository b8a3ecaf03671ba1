// The laggard rule on hand-built peers (pure), and planHedges hedging a laggard whatever its modelled risk.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FailureModel, ThroughputModel } from '@tessera/predict'
import type { AttemptView, EndpointView } from '../src/hedge-scheduler.js'
import { planHedges } from '../src/hedge-scheduler.js'
import { LAGGARD_LAG, LAGGARD_MARGIN_MS, LAGGARD_MIN_PEERS, isLaggard, peerPace, type PeerSample } from '../src/laggard.js'

const MiB = 1024 * 1024
const A = 'http://a/files'
const B = 'http://b/files'

/** A 4 MiB attempt started at `startedMs`, its body all taken by the socket at `lastProgressMs`. */
function running(startedMs: number, lastProgressMs: number, progressBytes = 4 * MiB): AttemptView {
  return { partition: 1, attempt: 0, endpoint: A, totalBytes: 4 * MiB, progressBytes, startedMs, lastProgressMs }
}

/** Three 4 MiB peers that ran 0→150, 40→180, 90→190 ms: pace 150 ms, the last ended at 190. */
const peers: PeerSample[] = [
  { bytes: 4 * MiB, startedMs: 0, endedMs: 150 },
  { bytes: 4 * MiB, startedMs: 40, endedMs: 180 },
  { bytes: 4 * MiB, startedMs: 90, endedMs: 190 },
]

describe('peerPace', () => {
  test('the slowest comparable peer sets the pace, scaled to the attempt’s bytes', () => {
    assert.deepEqual(peerPace(running(0, 60), peers), { paceMs: 150, lastEndedMs: 190 })
    const half = { ...running(0, 60), totalBytes: 2 * MiB }
    assert.equal(peerPace(half, peers)?.paceMs, 75)
  })

  test('peers that ended before the attempt started, or carried under half its bytes, do not count', () => {
    assert.deepEqual(peerPace(running(160, 200), peers), { paceMs: 140, lastEndedMs: 190 }, 'the two that ended after it started')
    assert.equal(peerPace(running(185, 200), peers), undefined, 'one ended after it started')
    const short = peers.map((s) => ({ ...s, bytes: MiB }))
    assert.equal(peerPace(running(0, 60), short), undefined)
  })
})

describe('isLaggard', () => {
  test('a silent attempt is a laggard once it is a lag past its last peer’s end, not before', () => {
    const a = running(0, 60)
    const lag = Math.max(LAGGARD_MARGIN_MS, 150 * LAGGARD_LAG)
    assert.equal(isLaggard(a, peers, 190 + lag - 1), false)
    assert.equal(isLaggard(a, peers, 190 + lag), true)
  })

  test('an attempt that started late is due its own start + the pace, not its peers’ end', () => {
    const late = running(120, 130)
    const lag = Math.max(LAGGARD_MARGIN_MS, 150 * LAGGARD_LAG)
    assert.equal(isLaggard(late, peers, 120 + 150 + lag - 1), false)
    assert.equal(isLaggard(late, peers, 120 + 150 + lag), true)
  })

  test('an attempt still moving is no laggard, however late', () => {
    assert.equal(isLaggard(running(0, 990, 3 * MiB), peers, 1000), false)
  })

  test('without enough comparable peers nothing is a laggard', () => {
    assert.equal(isLaggard(running(0, 0), peers.slice(0, LAGGARD_MIN_PEERS - 1), 10_000), false)
    assert.equal(isLaggard(running(0, 0), peers.slice(0, LAGGARD_MIN_PEERS), 10_000), true)
    assert.equal(isLaggard(running(0, 0), [], 10_000), false)
  })
})

describe('planHedges with peers', () => {
  /** Endpoints with a long learned record: a silent attempt of 300 ms is far from judged dead by the models. */
  function view(): EndpointView {
    let f = FailureModel.create()
    let t = ThroughputModel.create()
    for (let i = 0; i < 20; i++) {
      f = f.observe('success', i)
      t = t.observe(40 * MiB, i)
    }
    return { failures: f, throughput: t, healthyGapMs: 400 }
  }
  const models = new Map([
    [A, view()],
    [B, view()],
  ])
  const round = (now: number, withPeers: boolean) =>
    planHedges({
      now,
      endpoints: [A, B],
      models: (e) => models.get(e)!,
      partitions: [{ partition: 1, totalBytes: 4 * MiB, running: [running(0, 60)], hedges: 0 }],
      uploadBytes: 16 * MiB,
      committedBytes: 0,
      threshold: 0.3,
      budgetFraction: 0.05,
      ...(withPeers && { peers }),
    })

  test('a laggard is hedged to another endpoint though its modelled risk is below the threshold', () => {
    const plain = round(300, false)
    assert.equal(plain.plans.length, 0)
    const risk = [...plain.scores.values()][0]!.risk.risk
    assert.ok(risk < 0.3, `the models alone see risk ${risk}`)
    const lagging = round(300, true)
    assert.equal(lagging.plans.length, 1)
    assert.equal(lagging.plans[0]!.laggard, true)
    assert.equal(lagging.plans[0]!.toEndpoint, B)
  })

  test('before it is due, the peers change nothing', () => {
    assert.equal(round(200, true).plans.length, 0)
  })
})
