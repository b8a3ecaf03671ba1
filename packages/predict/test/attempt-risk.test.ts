import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FailureModel, ThroughputModel, attemptRisk, studentTCdf, type AttemptRiskOptions } from '../src/index.js'
import { observeAt, seededRandom, simulateAttempt, type SimEndpoint } from './simulation.js'

const KiB = 1024
const MiB = 1024 * KiB
const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c

test('risk of a fresh attempt follows the documented formula', () => {
  const fm = FailureModel.create({ priorAlpha: 1, priorBeta: 9, halfLifeMs: Infinity })
  const tm = ThroughputModel.create({ priorMedianBytesPerSecond: 1e6 })
  const attempt = { totalBytes: 4e6, bytesAcked: 0, elapsedMs: 0, deadlineMs: 6000, stalledMs: 0 }
  const r = attemptRisk(attempt, fm, tm)
  const { degreesOfFreedom, location: m, scale: s } = tm.predictive
  // no own progress: w = 0, own location m, scale s·√(1 + 262144/4e6); required rate 4e6 B / 6 s
  const miss = studentTCdf(Math.log(4e6 / 6), { degreesOfFreedom, location: m, scale: s * Math.sqrt(1 + 262_144 / 4e6) })
  // p = 1/10 spread over D0 = 4e6 B / 1e6 B/s = 4000 ms; remaining life min(4000, 6000) ms; no stall → dead = 0
  const lambda = -Math.log(1 - 0.1) / 4000
  const failure = 1 - Math.exp(-lambda * 4000)
  assert.equal(r.dead, 0)
  assert.ok(Math.abs(r.miss - miss) < 1e-12)
  assert.ok(Math.abs(r.failure - failure) < 1e-12)
  assert.ok(Math.abs(r.failure - 0.1) < 1e-12)
  assert.ok(Math.abs(r.risk - (1 - (1 - failure) * (1 - miss))) < 1e-12)
})

test('risk rises sharply with the stall relative to the expected progress gap', () => {
  const fm = FailureModel.create()
  const tm = ThroughputModel.create({ priorMedianBytesPerSecond: 1e6 })
  const at = (stalledMs: number) =>
    attemptRisk({ totalBytes: 8e6, bytesAcked: 2e6, elapsedMs: 2000 + stalledMs, deadlineMs: 60_000, stalledMs, progressGapMs: 100 }, fm, tm)
  const risks = [0, 100, 300, 600, 1000, 2000].map((s) => at(s).dead)
  for (let i = 1; i < risks.length; i++) assert.ok(risks[i]! > risks[i - 1]!, `dead not increasing: ${risks.join(', ')}`)
  assert.ok(risks[1]! < 0.01, 'one expected gap of silence is normal')
  assert.ok(risks[5]! > 0.99, '20 expected gaps of silence is a dead socket')
})

test('an attempt that survived most of its duration has less left to fail, and a finished one none', () => {
  const fm = FailureModel.create({ priorAlpha: 2, priorBeta: 8 })
  const tm = ThroughputModel.create({ priorMedianBytesPerSecond: 1e6 })
  const base = { totalBytes: 10e6, deadlineMs: 100_000, stalledMs: 0 }
  const early = attemptRisk({ ...base, bytesAcked: 1e6, elapsedMs: 1000 }, fm, tm)
  const late = attemptRisk({ ...base, bytesAcked: 9e6, elapsedMs: 9000 }, fm, tm)
  assert.ok(late.failure < early.failure / 5)
  assert.equal(attemptRisk({ ...base, bytesAcked: 10e6, elapsedMs: 9000 }, fm, tm).risk, 0)
  assert.equal(attemptRisk({ ...base, bytesAcked: 5e6, elapsedMs: 100_000 }, fm, tm).risk, 1)
})

test("the attempt's own rate moves the prediction away from the endpoint's", () => {
  const fm = FailureModel.create()
  const tm = ThroughputModel.create({ priorMedianBytesPerSecond: 1e6 })
  // endpoint says 1 MB/s, deadline needs 1 MB/s for the rest; the attempt has done 4 MiB at 4 MB/s
  const fast = attemptRisk({ totalBytes: 8 * MiB, bytesAcked: 4 * MiB, elapsedMs: 1049, deadlineMs: 1049 + 4194, stalledMs: 0 }, fm, tm)
  const slow = attemptRisk({ totalBytes: 8 * MiB, bytesAcked: 4 * MiB, elapsedMs: 16_777, deadlineMs: 16_777 + 4194, stalledMs: 0 }, fm, tm)
  assert.ok(fast.predictedBytesPerSecond > 3e6 && slow.predictedBytesPerSecond < 0.3e6)
  assert.ok(fast.miss < 0.05 && slow.miss > 0.95, `fast ${fast.miss} slow ${slow.miss}`)
})

test('inconsistent attempts are rejected naming the field', () => {
  const fm = FailureModel.create()
  const tm = ThroughputModel.create()
  const ok = { totalBytes: 100, bytesAcked: 10, elapsedMs: 50, deadlineMs: 1000, stalledMs: 5 }
  for (const [field, value] of [['bytesAcked', 101], ['stalledMs', 51], ['totalBytes', 0], ['deadlineMs', Number.NaN], ['elapsedMs', -1]] as const) {
    assert.throws(
      () => attemptRisk({ ...ok, [field]: value }, fm, tm),
      (err: Error & { code?: string }) => err.code === 'PREDICT_ERR_INVALID_ARGUMENT' && err.message.includes(`\`${field}\``),
    )
  }
  assert.throws(() => attemptRisk(ok, fm, tm, { progressBytes: 0 }), code('PREDICT_ERR_INVALID_OPTION'))
})

// ---- Calibration on simulated traces ------------------------------------------------------------

interface Sample {
  readonly predicted: number
  readonly bad: boolean
  /** Silent for ≥ 3 expected progress gaps (what the client can see, so calibration must hold within it). */
  readonly stalled: boolean
  /** More than half of the partition acknowledged. */
  readonly pastHalf: boolean
}

/**
 * Trains one failure and one throughput posterior per simulated endpoint on 200 finished attempts
 * (one a second, default forgetting), then evaluates in-flight attempts at a uniform time before their
 * deadline and records (predicted risk, did it fail or miss the deadline). Endpoints span failure
 * probabilities 3–30 %, medians 256 KiB/s–4 MiB/s and log-sd 0.3–0.7; partitions are 1, 2 or 4 MiB;
 * deadlines 0.7–3 × the endpoint's median duration; a failure is a silent stall at a uniform time.
 */
function simulate(seed: number, options: AttemptRiskOptions): Sample[] {
  const rng = seededRandom(seed)
  const chunkBytes = 64 * KiB
  const samples: Sample[] = []
  for (const failureProbability of [0.03, 0.1, 0.3]) {
    for (const medianBytesPerSecond of [256 * KiB, MiB, 4 * MiB]) {
      for (const logSd of [0.3, 0.7]) {
        const endpoint: SimEndpoint = { failureProbability, medianBytesPerSecond, logSd }
        const size = () => [1, 2, 4][Math.floor(rng() * 3)]! * MiB
        let fm = FailureModel.create()
        let tm = ThroughputModel.create()
        for (let i = 1; i <= 200; i++) {
          const totalBytes = size()
          const a = simulateAttempt(rng, endpoint, totalBytes, chunkBytes)
          if (a.completedMs === Infinity) fm = fm.observe('failure', i * 1000)
          else {
            fm = fm.observe('success', i * 1000)
            tm = tm.observe((totalBytes * 1000) / a.completedMs, i * 1000)
          }
        }
        for (let i = 0; i < 600; i++) {
          const totalBytes = size()
          const a = simulateAttempt(rng, endpoint, totalBytes, chunkBytes)
          const deadlineMs = ((totalBytes * 1000) / medianBytesPerSecond) * (0.7 + 2.3 * rng())
          const elapsedMs = rng() * deadlineMs
          if (a.completedMs <= elapsedMs) continue // no longer in flight
          const { bytesAcked, stalledMs } = observeAt(a, elapsedMs)
          const r = attemptRisk({ totalBytes, bytesAcked, elapsedMs, deadlineMs, stalledMs }, fm, tm, options)
          samples.push({ predicted: r.risk, bad: a.completedMs > deadlineMs, stalled: stalledMs >= 3 * r.progressGapMs, pastHalf: bytesAcked > totalBytes / 2 })
        }
      }
    }
  }
  return samples
}

interface Bucket {
  readonly n: number
  readonly predicted: number
  readonly observed: number
}

function deciles(samples: readonly Sample[]): Bucket[] {
  const acc = Array.from({ length: 10 }, () => ({ n: 0, p: 0, o: 0 }))
  for (const s of samples) {
    const b = acc[Math.min(9, Math.floor(s.predicted * 10))]!
    b.n++
    b.p += s.predicted
    b.o += s.bad ? 1 : 0
  }
  return acc.map((b) => ({ n: b.n, predicted: b.n === 0 ? NaN : b.p / b.n, observed: b.n === 0 ? NaN : b.o / b.n }))
}

// Tolerances. Deciles: a bucket with n ≥ 100 samples has a binomial standard error ≤ √(0.25/100)
// = 0.05, so |predicted − observed| ≤ 0.1 allows two standard errors of sampling noise at worst; the
// seed is fixed, so the test is deterministic. Calibration must also hold within subpopulations the
// client can see (stalled or flowing, first or second half of the partition): there the mean
// predicted and the observed frequency must agree within 0.05 (each group has > 1000 samples, standard
// error < 0.016). Skill: the Brier score must beat the base-rate forecast by 40 %.
const MIN_BUCKET = 100
const DECILE_TOLERANCE = 0.1
const GROUP_TOLERANCE = 0.05
const GROUPS: readonly [string, (s: Sample) => boolean][] = [
  ['all', () => true],
  ['stalled', (s) => s.stalled],
  ['flowing', (s) => !s.stalled],
  ['first half', (s) => !s.pastHalf],
  ['second half', (s) => s.pastHalf],
]

function calibrationErrors(samples: readonly Sample[]): string[] {
  const errors: string[] = []
  for (const [name, member] of GROUPS) {
    const group = samples.filter(member)
    for (const [i, b] of deciles(group).entries()) {
      if (b.n >= MIN_BUCKET && Math.abs(b.predicted - b.observed) > DECILE_TOLERANCE) {
        errors.push(`${name} decile ${i}: n=${b.n} predicted ${b.predicted.toFixed(3)} observed ${b.observed.toFixed(3)}`)
      }
    }
    const predicted = group.reduce((sum, s) => sum + s.predicted, 0) / group.length
    const observed = group.filter((s) => s.bad).length / group.length
    if (Math.abs(predicted - observed) > GROUP_TOLERANCE) {
      errors.push(`${name}: n=${group.length} mean predicted ${predicted.toFixed(3)} observed ${observed.toFixed(3)}`)
    }
  }
  const base = samples.filter((s) => s.bad).length / samples.length
  const brier = samples.reduce((sum, s) => sum + (s.predicted - (s.bad ? 1 : 0)) ** 2, 0) / samples.length
  if (brier > 0.6 * base * (1 - base)) errors.push(`Brier ${brier.toFixed(4)} not better than 0.6 × base-rate ${(base * (1 - base)).toFixed(4)}`)
  return errors
}

// The simulated transport reports progress every 64 KiB with exponential gaps and never pauses for
// a retransmission timeout, so the RTO floor of the default options does not apply to it.
const SIM_OPTIONS: AttemptRiskOptions = { progressBytes: 64 * KiB, minProgressGapMs: 0 }

test('predicted P(fail or miss deadline) is calibrated on simulated traces, decile by decile', () => {
  const samples = simulate(42, SIM_OPTIONS)
  const buckets = deciles(samples)
  assert.ok(samples.length > 5000)
  assert.ok(buckets.filter((b) => b.n >= MIN_BUCKET).length >= 8, 'most deciles populated')
  for (const [name, member] of GROUPS) assert.ok(samples.filter(member).length > 1000, `group ${name} populated`)
  assert.deepEqual(calibrationErrors(samples), [], JSON.stringify(buckets))
})

test('the calibration check has power: a miscalibrated model fails it', () => {
  // A stall detector 16× too eager (4 KiB progress granularity assumed, 64 KiB real) …
  assert.notDeepEqual(calibrationErrors(simulate(42, { ...SIM_OPTIONS, progressBytes: 4 * KiB })), [])
  // … and one that barely trusts the attempt's own rate (256 MiB of progress per observation).
  assert.notDeepEqual(calibrationErrors(simulate(42, { ...SIM_OPTIONS, ownRateEvidenceBytes: 256 * MiB })), [])
})

test('a tiny attempt is not dead after a moment of silence: it lasts at least one healthy gap, whatever its bytes', () => {
  const fm = FailureModel.create().observe('failure', 0).observe('failure', 0).observe('success', 0)
  const tm = ThroughputModel.create()
  const tiny = (stalledMs: number) => attemptRisk({ totalBytes: 1, bytesAcked: 0, elapsedMs: 10 + stalledMs, deadlineMs: 2000, stalledMs, progressGapMs: 200 }, fm, tm)
  assert.ok(tiny(1).dead < 0.01, `1 byte silent for 1 ms: P(dead) ${tiny(1).dead}`)
  assert.ok(tiny(200).dead < 0.5, `silent for one healthy gap: P(dead) ${tiny(200).dead}`)
  assert.ok(tiny(4000).dead > 0.99, `silent for 20 healthy gaps: P(dead) ${tiny(4000).dead}`)
})
