// Small helpers the benches share: medians, rounding, byte sizes.

/** Median of a list (mean of the middle two for an even count); NaN for an empty one. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Rounds to `digits` decimals (for JSON that humans read). */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 }

/** Parses `1GiB`, `128MiB`, `500MB`, `1048576` into bytes; throws naming the value otherwise. */
export function parseBytes(text: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)\s*([a-z]*)$/i)
  const unit = UNITS[(m?.[2] || 'b').toLowerCase()]
  if (!m || unit === undefined) throw new Error(`Expected a size such as 1GiB or 128MiB, got ${JSON.stringify(text)}`)
  return Math.round(Number(m[1]) * unit)
}

/** `1 GiB`, `128 MiB`, or bytes. */
export function formatBytes(bytes: number): string {
  if (bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`
  if (bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`
  return `${bytes} B`
}

/** Nearest-rank percentile (`p` in 0..100) of a list; NaN for an empty one. p99 of 30 values is the largest. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1]!
}

/** A sample of a variant in an interleaved round; `failed` ones count nowhere. */
export interface RoundSample {
  readonly round: number
  readonly variant: string
  readonly mbPerSecond: number
  readonly failed?: unknown
}

/**
 * The MB/s of `num` over `den`, round by round (only rounds both finished), and their median —
 * the only comparison that means anything on a shared machine (bench/README.md).
 */
export function sameRoundRatios(samples: readonly RoundSample[], num: string, den: string): { median: number; perRound: number[] } {
  const perRound: number[] = []
  for (const a of samples.filter((s) => s.variant === num && !s.failed)) {
    const b = samples.find((s) => s.round === a.round && s.variant === den && !s.failed)
    if (b) perRound.push(round(a.mbPerSecond / b.mbPerSecond, 3))
  }
  return { median: round(median(perRound), 3), perRound }
}
