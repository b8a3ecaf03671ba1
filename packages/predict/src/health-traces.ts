import { PredictError } from './errors.js'

/** One sample of a labelled health trace. */
export interface TraceSample {
  readonly tMs: number
  readonly latencyMs: number
  readonly errorRate: number
  /** False once the backend is dead. */
  readonly available: boolean
}

/** What a synthetic trace models. */
export type TraceKind = 'degrade-then-die' | 'sudden-death' | 'healthy'

/** A labelled backend health trace: samples at a fixed step and when (if ever) the backend died. */
export interface HealthTrace {
  readonly name: string
  readonly kind: TraceKind
  readonly stepMs: number
  readonly samples: readonly TraceSample[]
  /** Time of death (first unavailable sample), or null for a backend that never fails. */
  readonly failureAtMs: number | null
}

/** Options of {@link syntheticTrace}. */
export interface SyntheticTraceOptions {
  /** Sampling step, ms. Default 120 000 (2 min). */
  readonly stepMs?: number
  /** Trace length, ms. Default 6 h. */
  readonly durationMs?: number
  /** Healthy median latency, ms. Default 40. */
  readonly baseLatencyMs?: number
}

const HOUR_MS = 3_600_000

/**
 * A seeded synthetic health trace (pure: `random` is the only source of randomness).
 * - healthy: log-normal latency noise (sd 0.15 in ln), error rate ≈ 0.5 % ± 0.5 %, and a transient
 *   spike (latency ×6, error rate 20–40 %) in ~2 % of samples — the bait for false alarms;
 * - degrade-then-die: healthy until a time uniform in [1.5 h, 2.5 h], then over 1.5–2.5 h latency
 *   grows exponentially to ×100 and the error rate linearly to ~45 % (just short of the default limits, 5 s and 50 %), then the backend dies;
 * - sudden-death: healthy, then dead at a time uniform in [2 h, 4 h] with no warning.
 * After death every sample is `available: false`.
 */
export function syntheticTrace(kind: TraceKind, random: () => number, options: SyntheticTraceOptions = {}, name: string = kind): HealthTrace {
  const stepMs = options.stepMs ?? 120_000
  const durationMs = options.durationMs ?? 6 * HOUR_MS
  const base = options.baseLatencyMs ?? 40
  if (!(stepMs > 0 && durationMs > stepMs && base > 0)) {
    throw new PredictError('PREDICT_ERR_INVALID_OPTION', `Expected stepMs > 0, durationMs > stepMs and baseLatencyMs > 0, got ${JSON.stringify(options)}`)
  }
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
  let degradeAt = Infinity
  let failureAt: number | null = null
  if (kind === 'degrade-then-die') {
    degradeAt = (1.5 + random()) * HOUR_MS
    failureAt = degradeAt + (1.5 + random()) * HOUR_MS
  } else if (kind === 'sudden-death') {
    failureAt = (2 + 2 * random()) * HOUR_MS
  }
  const samples: TraceSample[] = []
  for (let t = 0; t <= durationMs; t += stepMs) {
    let latencyMs = base * Math.exp(0.15 * normal())
    let errorRate = Math.max(0, 0.005 + 0.005 * normal())
    if (random() < 0.02) {
      latencyMs *= 6
      errorRate = 0.2 + 0.2 * random()
    }
    if (failureAt !== null && t >= failureAt) {
      samples.push({ tMs: t, latencyMs, errorRate: 1, available: false })
      continue
    }
    if (t > degradeAt && failureAt !== null) {
      const x = (t - degradeAt) / (failureAt - degradeAt)
      latencyMs *= 100 ** x
      errorRate = Math.min(1, errorRate + 0.45 * x)
    }
    samples.push({ tMs: t, latencyMs, errorRate, available: true })
  }
  // The death time is the first dead sample, so "lead time" is measured on the sampling grid.
  const first = samples.find((s) => !s.available)
  return { name, kind, stepMs, samples, failureAtMs: first ? first.tMs : null }
}
