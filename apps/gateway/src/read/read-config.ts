import { parseBoolean, parseDuration, parseSize } from '../config-values.js'

/** The read path's settings (`--hedged-reads`, `--echo-memory`, `--prefetch*`; docs/read-path.md). */
export interface ReadConfig {
  /** Rank backends by learned latency and hedge late blocks (storage `HedgeOptions`). Default true. */
  readonly hedgedReads: boolean
  /** Byte budget of the in-memory echo cache of hot blocks; 0 = no echoes. Default 256 MiB. */
  readonly echoMemoryBytes: number
  /** Learn what is read after what and prefetch it into the echo cache (needs echoes). Default true. */
  readonly prefetch: boolean
  /** P(next | current) above which the next read is prefetched, 0.05…1. Default 0.6. */
  readonly prefetchThreshold: number
  /** Stripes prefetched per predicted read, 1…64. Default 2. */
  readonly prefetchStripes: number
  /** Echo copies of each hot block on other backends, 0…4 (needs echoes and the embedded default). Default 0. */
  readonly echoBackendCopies: number
  /** Window of the per-backend read-load forecast, ms (each closes a rebalancing round), 100 ms…10 min. Default 10 s. */
  readonly loadWindowMs: number
}

/** The options of {@link parseReadConfig}, as `config.ts` names them in its `OPTIONS` table. */
export type ReadOptionKey = 'hedgedReads' | 'echoMemory' | 'prefetch' | 'prefetchThreshold' | 'prefetchStripes' | 'echoBackendCopies' | 'loadWindow'

/** A raw option value and where it came from (a flag, a variable, a config field), as `config.ts` reads it. */
export type RawReadOption = (key: ReadOptionKey) => { readonly value: string; readonly from: string } | undefined

/**
 * The read path's part of the configuration; problems go to `problems`, naming the option.
 * `clustered` (`--redis-url`): echo copies are refused, their map is a local file.
 */
export function parseReadConfig(raw: RawReadOption, problems: string[], clustered = false): ReadConfig {
  const read = <T>(key: ReadOptionKey, fallback: T, parse: (s: string) => T | undefined, expected: string): T => {
    const r = raw(key)
    if (!r) return fallback
    const v = parse(r.value)
    if (v === undefined) problems.push(`${r.from}: expected ${expected}, got ${JSON.stringify(r.value)}`)
    return v ?? fallback
  }
  const within = (min: number, max: number, integer: boolean) => (s: string): number | undefined => {
    const n = Number(s.trim())
    return s.trim() !== '' && Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n)) ? n : undefined
  }
  const durationWithin = (minMs: number, maxMs: number) => (s: string): number | undefined => {
    const ms = parseDuration(s)
    return ms !== undefined && ms >= minMs && ms <= maxMs ? ms : undefined
  }
  const echoMemoryBytes = read('echoMemory', 256 * 1024 * 1024, parseSize, 'a size such as 256MiB (0 = no echoes)')
  const echoBackendCopies = read('echoBackendCopies', 0, within(0, 4, true), 'an integer from 0 to 4')
  const copies = raw('echoBackendCopies')
  if (copies && echoBackendCopies > 0 && echoMemoryBytes === 0) problems.push(`${copies.from}: echo copies are made of the blocks hot in memory; needs --echo-memory > 0`)
  if (copies && echoBackendCopies > 0 && clustered) problems.push(`${copies.from}: not with --redis-url (the echo map is a file of this gateway's)`)
  return {
    hedgedReads: read('hedgedReads', true, parseBoolean, "'true' or 'false'"),
    echoMemoryBytes,
    echoBackendCopies,
    prefetch: read('prefetch', true, parseBoolean, "'true' or 'false'"),
    prefetchThreshold: read('prefetchThreshold', 0.6, within(0.05, 1, false), 'a probability from 0.05 to 1'),
    prefetchStripes: read('prefetchStripes', 2, within(1, 64, true), 'an integer from 1 to 64'),
    loadWindowMs: read('loadWindow', 10_000, durationWithin(100, 600_000), 'a duration from 100ms to 10m such as 10s'),
  }
}
