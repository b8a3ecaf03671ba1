/** mulberry32: a tiny seeded PRNG so every property test replays the same cases. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (random() * 256) | 0
  return out
}

/** A random subset of `count` distinct indices from [0, total). */
export function randomSubset(random: () => number, total: number, count: number): number[] {
  const all = Array.from({ length: total }, (_, i) => i)
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[all[i], all[j]] = [all[j]!, all[i]!]
  }
  return all.slice(0, count).sort((a, b) => a - b)
}

/** Every subset of [0, total) with at most `max` elements. */
export function* subsetsUpTo(total: number, max: number, start = 0, prefix: number[] = []): Generator<number[]> {
  yield prefix
  if (prefix.length === max) return
  for (let i = start; i < total; i++) yield* subsetsUpTo(total, max, i + 1, [...prefix, i])
}

/** Passes to assert.throws: matches an ErasureError by code. */
export const withCode = (code: string) => (err: unknown) => (err as { code?: unknown }).code === code
