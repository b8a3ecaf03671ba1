// Records an upload's structured events by name, so tests can count decisions (stalls, failed
// attempts, hedges, adoptions) instead of timing them.
import type { Upload, UploadEventMap } from '../../src/index.js'

export type Recorded = { [K in keyof UploadEventMap]: UploadEventMap[K][] }

const NAMES = [
  'progress',
  'partition',
  'attempt-start',
  'attempt-done',
  'attempt-failed',
  'hedge-start',
  'attempt-won',
  'attempt-lost',
  'winner-adopted',
  'attempt-terminated',
  'done',
  'stall',
  'resume',
  'concurrency',
  'capabilities',
  'endpoint-skipped',
  'partition-split',
] as const satisfies readonly (keyof UploadEventMap)[]

/** Every event of `u` from now on, by name, in emission order. */
export function recordEvents(u: Upload): Recorded {
  const out = Object.fromEntries(NAMES.map((n) => [n, []])) as unknown as Recorded
  for (const n of NAMES) u.on(n, ((e: unknown) => void (out[n] as unknown[]).push(e)) as never)
  return out
}
