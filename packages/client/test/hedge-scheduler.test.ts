// The hedge scheduler's decisions on synthetic attempts and models (pure; the real @tessera/predict models).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FailureModel, ThroughputModel } from '@tessera/predict'
import { ABANDON_DEAD, DEADLINE_FLOOR_MS, MAX_COMMON_SILENCE_MS, MAX_HEDGES_PER_PARTITION, commonSilenceMs, endpointView, scoreAttempt, type EndpointModels, attemptDeadlineMs, hedgeTarget, planHedges, type AttemptView, type EndpointView, type HedgeInputs, type PartitionView } from '../src/hedge-scheduler.js'

const MiB = 1024 * 1024
const A = 'http://a/files'
const B = 'http://b/files'

/** An endpoint that finished `n` attempts at `bps` (and `failures` failed ones), healthy gap `gapMs`. */
function endpoint(bps: number, n = 20, failures = 0, gapMs = 100): EndpointView {
  let f = FailureModel.create()
  let t = ThroughputModel.create()
  for (let i = 0; i < n; i++) {
    f = f.observe('success', i)
    t = t.observe(bps * (i % 2 === 0 ? 1.1 : 0.9), i)
  }
  for (let i = 0; i < failures; i++) f = f.observe('failure', n + i)
  return { failures: f, throughput: t, healthyGapMs: gapMs }
}

function attempt(partition: number, endpoint: string, progressBytes: number, startedMs: number, lastProgressMs: number, totalBytes = 4 * MiB, n = 0): AttemptView {
  return { partition, attempt: n, endpoint, totalBytes, progressBytes, startedMs, lastProgressMs }
}

function inputs(partitions: PartitionView[], extra: Partial<HedgeInputs> = {}): HedgeInputs {
  const models = new Map([
    [A, endpoint(10 * MiB)],
    [B, endpoint(10 * MiB)],
  ])
  return { now: 10_000, endpoints: [A, B], models: (e) => models.get(e)!, partitions, uploadBytes: 400 * MiB, committedBytes: 0, threshold: 0.3, budgetFraction: 0.05, ...extra }
}

const one = (a: AttemptView, hedges = 0): PartitionView => ({ partition: a.partition, totalBytes: a.totalBytes, running: [a], hedges })

describe('planHedges', () => {
  test('an attempt flowing at its endpoint rate is not hedged; a silent one is, on the other endpoint', () => {
    // 10 MiB/s: after 200 ms a healthy attempt has ~2 MiB through, last progress just now.
    const flowing = attempt(0, A, 2 * MiB, 9_800, 9_990)
    const silent = attempt(1, A, 1 * MiB, 8_000, 8_100)
    const round = planHedges(inputs([one(flowing), one(silent)]))
    assert.ok(round.scores.get(flowing)!.risk.risk < 0.05, `flowing risk ${round.scores.get(flowing)!.risk.risk}`)
    assert.ok(round.scores.get(silent)!.risk.risk > 0.9, `silent risk ${round.scores.get(silent)!.risk.risk}`)
    assert.deepEqual(
      round.plans.map((p) => [p.partition, p.toEndpoint, p.hedgeBytes]),
      [[1, B, 4 * MiB]],
    )
    assert.equal(round.committedBytes, 4 * MiB)
  })

  test('an attempt judged dead that no hedge covers is abandoned; a hedged one, a slow-but-moving one and a fresh one are not', () => {
    const dead = attempt(0, A, MiB, 5_000, 7_000) // silent 3 s where healthy gaps are 100 ms
    const slow = attempt(1, A, MiB, 9_000, 9_950, 64 * MiB) // far from done, but it moved 50 ms ago
    const fresh = attempt(2, B, 0, 9_990, 9_990)
    // Budget spent: nothing can be hedged, so the dead attempt is abandoned.
    const spent = planHedges(inputs([one(dead), one(slow), one(fresh)], { committedBytes: 400 * MiB }))
    assert.equal(spent.plans.length, 0)
    assert.ok(spent.scores.get(dead)!.risk.dead >= ABANDON_DEAD, `P(dead) ${spent.scores.get(dead)!.risk.dead}`)
    assert.deepEqual(spent.abandon, [dead])
    // Budget left: the dead attempt is hedged instead, and not abandoned in the same round.
    const hedged = planHedges(inputs([one(dead), one(slow), one(fresh)]))
    assert.ok(hedged.plans.some((p) => p.partition === 0))
    assert.deepEqual(hedged.abandon, [])
    // A body the socket took in full may still be draining: abandoned only once silent for its deadline.
    const sent = (silentMs: number) => attempt(3, A, 4 * MiB, 0, 10_000 - silentMs)
    const deadline = spent.scores.get(dead)!.deadlineMs
    const early = planHedges(inputs([one(sent(deadline - 100))], { committedBytes: 400 * MiB }))
    assert.ok(early.scores.values().next().value!.risk.dead >= ABANDON_DEAD)
    assert.deepEqual(early.abandon, [])
    assert.equal(planHedges(inputs([one(sent(deadline + 100))], { committedBytes: 400 * MiB })).abandon.length, 1)
    // Its partition's hedges used up: abandoned even with budget left.
    assert.deepEqual(planHedges(inputs([one(dead, MAX_HEDGES_PER_PARTITION)])).abandon, [dead])
  })

  test('a partition with two running attempts, or with MAX_HEDGES_PER_PARTITION hedges, is not hedged again', () => {
    const silent = attempt(1, A, MiB, 8_000, 8_100)
    const twin = attempt(1, B, 0, 9_900, 9_950, 4 * MiB, 1)
    const round = planHedges(inputs([{ partition: 1, totalBytes: 4 * MiB, running: [silent, twin], hedges: 1 }]))
    assert.equal(round.plans.length, 0)
    assert.equal(planHedges(inputs([one(silent, MAX_HEDGES_PER_PARTITION)])).plans.length, 0)
    assert.equal(planHedges(inputs([one(silent, MAX_HEDGES_PER_PARTITION - 1)])).plans.length, 1)
  })

  test('a silence every running attempt shares (this process or the one server paused) hedges and abandons nothing; one attempt silent among moving ones still is', () => {
    // Three attempts on two endpoints, on schedule (10 MiB/s) until all went quiet for the last 800 ms: a pause, not three stalls.
    const paused = [attempt(0, A, MiB, 9_100, 9_200), attempt(1, B, MiB, 9_000, 9_100), attempt(2, A, MiB, 9_050, 9_150)]
    assert.equal(commonSilenceMs(paused.map((a) => one(a)), 10_000), 800)
    const round = planHedges(inputs(paused.map((a) => one(a))))
    assert.deepEqual(round.plans, [])
    assert.deepEqual(round.abandon, [])
    for (const [, score] of round.scores) assert.ok(score.risk.risk < 0.3, `risk ${score.risk.risk}`)
    // The same silent attempt beside one that moved just now is a stall of its own.
    const moving = attempt(3, B, 2 * MiB, 9_800, 9_990)
    const alone = planHedges(inputs([one(paused[0]!), one(moving)]))
    assert.deepEqual(alone.plans.map((p) => p.partition), [0])
    // A single running attempt has nothing to share a silence with: judged on its own, as before.
    assert.equal(commonSilenceMs([one(paused[0]!)], 10_000), 0)
    assert.equal(planHedges(inputs([one(paused[0]!)])).plans.length, 1)
    // A shared silence longer than MAX_COMMON_SILENCE_MS is theirs again beyond it: the attempts
    // left may all be on one endpoint that died. Silent 3 s together: hedged, ~1 s later than alone.
    const dead = [attempt(0, A, MiB, 6_900, 7_000), attempt(1, A, MiB, 6_800, 6_900)]
    assert.equal(commonSilenceMs(dead.map((a) => one(a)), 10_000), MAX_COMMON_SILENCE_MS)
    assert.deepEqual(planHedges(inputs(dead.map((a) => one(a)))).plans.map((p) => p.partition).sort(), [0, 1])
  })

  test('budget: highest risk first; hedges start only while committed bytes are below the budget', () => {
    // Budget 5 % of 100 MiB = 5 MiB; three silent 4 MiB partitions, silent for 2, 1.5, 1 s.
    const p = [attempt(0, A, MiB, 7_000, 8_000), attempt(1, A, MiB, 7_000, 8_500), attempt(2, A, MiB, 7_000, 9_000)]
    const round = planHedges(inputs(p.map((a) => one(a)), { uploadBytes: 100 * MiB }))
    assert.equal(round.budgetBytes, 5 * MiB)
    // The first takes 4 MiB; the second is charged the 1 MiB left (one partition's granularity); the third gets nothing.
    assert.deepEqual(round.plans.map((x) => x.partition), [0, 1])
    assert.equal(round.committedBytes, 8 * MiB)
    assert.ok(round.committedBytes < round.budgetBytes + 4 * MiB)
    // Budget already committed: nothing more.
    assert.equal(planHedges(inputs(p.map((a) => one(a)), { uploadBytes: 100 * MiB, committedBytes: 5 * MiB })).plans.length, 0)
    // A budget of 0 never hedges.
    assert.equal(planHedges(inputs(p.map((a) => one(a)), { budgetFraction: 0 })).plans.length, 0)
  })

  test('threshold: 1 hedges only certain failures, 0 makes every attempt a candidate', () => {
    const flowing = attempt(0, A, 2 * MiB, 9_800, 9_990)
    assert.equal(planHedges(inputs([one(flowing)], { threshold: 1 })).plans.length, 0)
    assert.equal(planHedges(inputs([one(flowing)], { threshold: 0 })).plans.length, 1)
  })

  test('a body sent in full whose answer does not come is judged by the stall term, not scored as done', () => {
    const waiting = attempt(0, A, 4 * MiB, 8_000, 8_400)
    const round = planHedges(inputs([one(waiting)]))
    assert.ok(round.scores.get(waiting)!.risk.dead > 0.9)
    assert.equal(round.plans.length, 1)
  })
})

describe('hedge target and deadline', () => {
  test('the other endpoint with the lowest predicted risk; the same one when alone', () => {
    const C = 'http://c/files'
    const models = new Map([
      [A, endpoint(10 * MiB)],
      [B, endpoint(10 * MiB, 20, 15)], // fails often
      [C, endpoint(10 * MiB)],
    ])
    assert.equal(hedgeTarget(A, 4 * MiB, [A, B, C], (e) => models.get(e)!, 0), C)
    assert.equal(hedgeTarget(A, 4 * MiB, [A], (e) => models.get(e)!, 0), A)
  })

  test('deadline: the time at the endpoint’s 10th-percentile throughput, floored', () => {
    const fast = endpoint(100 * MiB).throughput
    assert.equal(attemptDeadlineMs(MiB, fast), DEADLINE_FLOOR_MS)
    const slow = endpoint(256 * 1024).throughput
    const d = attemptDeadlineMs(4 * MiB, slow)
    // 4 MiB at 256 KiB/s is 16 s; the 10th percentile is slower than the median.
    assert.ok(d > 16_000 && d < 40_000, String(d))
  })
})

describe('endpointView', () => {
  const fresh: EndpointModels = { failures: FailureModel.create().observe('failure', 0), throughput: ThroughputModel.create() }
  const fast = endpoint(40 * MiB, 5, 0, 60) as EndpointModels
  const slow = endpoint(10 * MiB, 5, 0, 150) as EndpointModels

  test('an endpoint with no success yet borrows the slowest sibling\'s throughput and healthy gap, keeps its own failures', () => {
    const v = endpointView(new Map([[A, fresh], [B, fast], ['http://c/files', slow]]), A, 10)
    assert.equal(v.healthyGapMs, 150)
    assert.equal(v.throughput.medianBytesPerSecond, slow.throughput.decayTo(10).medianBytesPerSecond)
    assert.equal(v.failures.failureProbability, fresh.failures.decayTo(10).failureProbability)
    // Unknown endpoint, no sibling with a success: the priors.
    const alone = endpointView(new Map([[A, fresh]]), A, 10)
    assert.equal(alone.healthyGapMs, undefined)
    assert.equal(alone.throughput.medianBytesPerSecond, ThroughputModel.create().decayTo(10).medianBytesPerSecond)
  })

  test('an endpoint with a success keeps its own models', () => {
    const v = endpointView(new Map([[A, fast], [B, slow]]), A, 10)
    assert.equal(v.healthyGapMs, 60)
    assert.equal(v.throughput.medianBytesPerSecond, fast.throughput.decayTo(10).medianBytesPerSecond)
  })
})

describe('scoreAttempt: mid-body silence is judged against the gap between body slices', () => {
  test('a stall mid-body reads as dead sooner than the same silence after the body went out', () => {
    // Answers take up to 400 ms here, body slices come every few ms.
    const view = { ...endpoint(10 * MiB, 20, 0, 400), healthyBodyGapMs: 20 }
    const midBody = attempt(0, A, MiB, 8_500, 8_800) // 1.2 s silent, 3 MiB of the body still to go
    const waiting = attempt(1, A, 4 * MiB, 8_500, 8_800) // 1.2 s silent, the whole body sent
    const dead = (a: AttemptView) => scoreAttempt(a, view, 10_000).risk.dead
    assert.ok(dead(midBody) > 0.9, `mid-body P(dead) ${dead(midBody)}`)
    assert.ok(dead(waiting) < 0.5, `answer-wait P(dead) ${dead(waiting)}`)
    // Without a learned body gap, the longest healthy silence stands in for both.
    const plain = endpoint(10 * MiB, 20, 0, 400)
    assert.equal(scoreAttempt(midBody, plain, 10_000).risk.progressGapMs, 400)
  })
})
