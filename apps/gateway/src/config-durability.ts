import { join, resolve } from 'node:path'
import type { DurabilityPolicy, ProbeMode } from '@tessera/durability'
import { parseSize } from './config-values.js'
import type { Readers } from './config.js'

/** Background durability settings (`@tessera/durability`), as configured. */
export interface DurabilityConfig {
  /** `none` (track health only), `reactive` (repair what reads and scrubs find; default) or `predictive`. */
  readonly policy: DurabilityPolicy
  /** Time between evaluations (manifests re-read, risk and priority list refreshed, predictive plan), ms. Default 60 s. */
  readonly evaluateIntervalMs: number
  /** Health window: one aggregated sample per backend per window, ms. Default 60 s. */
  readonly healthWindowMs: number
  /** Active probe of every backend: `write` (put, read back, delete a tiny block; default), `stat` or `none`. */
  readonly probe: ProbeMode
  /** Time between active probes, ms. Default 30 s. */
  readonly probeIntervalMs: number
  /** Time between scrub passes, ms. Default 5 min. */
  readonly scrubIntervalMs: number
  /** Stripes re-read and verified per scrub pass. Default 64. */
  readonly scrubStripesPerPass: number
  /** Byte budget of all background work (repair, migration, parity, scrub), bytes per second. Default 16 MiB/s. */
  readonly repairBytesPerSecond: number
  /** Background tasks running at once. Default 1. */
  readonly repairConcurrency: number
  /** Parity blocks the predictive policy may add above `parityBlocks` per object (also capped by backends − k). Default 2. */
  readonly maxExtraParity: number
  /** JSON file recording when each stripe was last verified. Default `<dataDir>/meta/scrub-ledger.json`. */
  readonly scrubLedger: string
  /**
   * Imbalance score (forecast busy share / mean − 1, per read-load window) above which a backend's
   * hottest blocks move to the least loaded backends (docs/read-path.md); 0 = no rebalancing. Default 1.
   */
  readonly rebalanceThreshold: number
  /** Rebalancing moves planned per read-load window at most; 0 = no rebalancing. Default 4. */
  readonly rebalanceMoves: number
  /** How long a block planned to move is not planned again, ms. Default 10 min. */
  readonly rebalanceCooldownMs: number
}


/** The durability part of {@link loadConfig}; problems go to the same list. */
export function durabilityConfig({ raw, int, parsed, duration, problems, cwd, dataDir }: Readers): DurabilityConfig {
  const oneOf = <T extends string>(values: readonly T[]) => (s: string): T | undefined => (values as readonly string[]).includes(s) ? (s as T) : undefined
  const policy = parsed('durability', 'reactive' as DurabilityPolicy, oneOf(['none', 'reactive', 'predictive'] as const), "'none', 'reactive' or 'predictive'")
  const evaluateIntervalMs = duration('evaluateInterval', 60_000, 1, '60s')
  const healthWindowMs = duration('healthWindow', 60_000, 1, '60s')
  const probe = parsed('probe', 'write' as ProbeMode, oneOf(['write', 'stat', 'none'] as const), "'write', 'stat' or 'none'")
  const probeIntervalMs = duration('probeInterval', 30_000, 1, '30s')
  const scrubIntervalMs = duration('scrubInterval', 300_000, 1, '5m')
  const scrubStripesPerPass = int('scrubStripes', 64, 1, 1_000_000)
  const repairBytesPerSecond = parsed('repairRate', 16 * 1024 * 1024, parseSize, 'a size per second such as 16MiB')
  if (repairBytesPerSecond <= 0) problems.push(`${raw('repairRate')!.from}: must be positive, got ${repairBytesPerSecond} bytes`)
  const repairConcurrency = int('repairConcurrency', 1, 1, 64)
  const maxExtraParity = int('maxExtraParity', 2, 0, 128)
  const scrubLedger = resolve(cwd, raw('scrubLedger')?.value ?? join(dataDir, 'meta', 'scrub-ledger.json'))
  const rebalanceThreshold = parsed('rebalanceThreshold', 1, (v) => (v.trim() !== '' && Number.isFinite(Number(v)) && Number(v) >= 0 && Number(v) <= 1000 ? Number(v) : undefined), 'an imbalance score from 0 (off) to 1000')
  const rebalanceMoves = int('rebalanceMoves', 4, 0, 1000)
  const rebalanceCooldownMs = duration('rebalanceCooldown', 600_000, 1, '10m')
  const rebalance = { rebalanceThreshold, rebalanceMoves, rebalanceCooldownMs }
  return { policy, evaluateIntervalMs, healthWindowMs, probe, probeIntervalMs, scrubIntervalMs, scrubStripesPerPass, repairBytesPerSecond, repairConcurrency, maxExtraParity, scrubLedger, ...rebalance }
}
