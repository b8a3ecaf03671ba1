// Test helper (not a test file): a seeded simulator of upload attempts on endpoints with a known
// failure probability and log-normal throughput, where a failure is a silent stall (a dead socket).

export { seededRandom } from '../src/seeded-random.js'

/** Standard normal by Box-Muller. */
export function normal(rng: () => number): number {
  const u = 1 - rng()
  const v = rng()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

/** Exponential with the given mean. */
export function exponential(rng: () => number, mean: number): number {
  return -Math.log(1 - rng()) * mean
}

/** An endpoint's true behaviour. */
export interface SimEndpoint {
  /** P(an attempt dies: stops making progress forever at a time uniform over its nominal duration). */
  readonly failureProbability: number
  /** Median throughput, bytes/s; the attempt's rate is log-normal around it. */
  readonly medianBytesPerSecond: number
  /** Standard deviation of ln(bytes/s) between attempts. */
  readonly logSd: number
}

/** One simulated attempt: progress times of each `chunkBytes` chunk, and its fate. */
export interface SimAttempt {
  readonly totalBytes: number
  readonly chunkBytes: number
  /** Time (ms from start) at which chunk i was acknowledged; fewer entries than chunks if it died. */
  readonly progressMs: readonly number[]
  /** Death time in ms, or Infinity. */
  readonly deathMs: number
  /** Completion time in ms, or Infinity if it died first. */
  readonly completedMs: number
}

/** Simulates one attempt: rate θ ~ logNormal, progress gaps Exp(chunk/θ), death with the endpoint's probability. */
export function simulateAttempt(rng: () => number, endpoint: SimEndpoint, totalBytes: number, chunkBytes: number): SimAttempt {
  const rate = endpoint.medianBytesPerSecond * Math.exp(endpoint.logSd * normal(rng))
  const chunks = Math.ceil(totalBytes / chunkBytes)
  const nominalMs = (totalBytes * 1000) / rate
  const deathMs = rng() < endpoint.failureProbability ? rng() * nominalMs : Infinity
  const progressMs: number[] = []
  let t = 0
  for (let i = 0; i < chunks; i++) {
    const bytes = Math.min(chunkBytes, totalBytes - i * chunkBytes)
    t += exponential(rng, (bytes * 1000) / rate)
    if (t >= deathMs) break
    progressMs.push(t)
  }
  const completedMs = progressMs.length === chunks ? t : Infinity
  return { totalBytes, chunkBytes, progressMs, deathMs, completedMs }
}

/** What the client sees of `attempt` at `atMs`: acknowledged bytes and the stall since the last progress. */
export function observeAt(attempt: SimAttempt, atMs: number): { bytesAcked: number; stalledMs: number } {
  let n = 0
  while (n < attempt.progressMs.length && attempt.progressMs[n]! <= atMs) n++
  const bytesAcked = Math.min(attempt.totalBytes, n * attempt.chunkBytes)
  const last = n === 0 ? 0 : attempt.progressMs[n - 1]!
  return { bytesAcked, stalledMs: atMs - last }
}
