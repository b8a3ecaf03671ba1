import { integerOption, invalidOption } from '../invalid-option.js'

/**
 * How the object store hedges block reads (docs/read-path.md): each stripe is read from the k
 * blocks whose backends are predicted fastest; a block late against its backend's learned latency
 * gets one more block started from another backend, and the first k verified blocks win.
 */
export interface HedgeOptions {
  /** False reads the data blocks in order and reads around only blocks that fail (no hedges, no ranking). Default true. */
  readonly enabled?: boolean
  /** Quantile (0.5…0.999) of a backend's recent block-read latencies past which a block is late. Default 0.95. */
  readonly quantile?: number
  /** Smallest hedge delay, ms: reads are never hedged sooner (scheduling noise is not lateness). Default 10. */
  readonly floorMs?: number
  /** Largest hedge delay, ms: what a backend that stalls forever costs a stripe at most. Default 1000. */
  readonly maxMs?: number
  /** Hedge delay of a backend with fewer than 8 reads observed, ms (clamped to floor…max). Default 50. */
  readonly initialMs?: number
  /** Extra blocks read for hedges / blocks needed, in the long run (0 turns hedges off, reads around failures stay). Default 0.1. */
  readonly maxExtraRatio?: number
  /** Hedges that may be spent at once before `maxExtraRatio` binds (the budget's bucket), blocks. Default 8. */
  readonly burstBlocks?: number
  /**
   * Decoding costs CPU, so a data block is read unless its backend is predicted slower than twice
   * the backends' typical latency plus this, ms; and a parity block counts this much slower. Default 5.
   */
  readonly parityPenaltyMs?: number
  /** A backend's penalty from late or failed reads halves toward the other backends' latency in this time, ms, so a recovered backend is read again. Default 10 000. */
  readonly recoveryHalfLifeMs?: number
}

export type ResolvedHedgeOptions = Required<HedgeOptions>

export const defaultHedgeOptions: ResolvedHedgeOptions = Object.freeze({
  enabled: true,
  quantile: 0.95,
  floorMs: 10,
  maxMs: 1000,
  initialMs: 50,
  maxExtraRatio: 0.1,
  burstBlocks: 8,
  parityPenaltyMs: 5,
  recoveryHalfLifeMs: 10_000,
})

/** Validates `options` (`STORAGE_ERR_INVALID_ARGUMENT` naming the option) and fills defaults; never mutates it. */
export function resolveHedgeOptions(options: HedgeOptions = {}): ResolvedHedgeOptions {
  const o = { ...defaultHedgeOptions, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ResolvedHedgeOptions
  if (typeof o.enabled !== 'boolean') throw invalidOption('hedge.enabled', 'a boolean', o.enabled)
  const ms = (name: keyof ResolvedHedgeOptions, min: number): number => {
    const v = o[name]
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw invalidOption(`hedge.${name}`, `a number from ${min} and up`, v)
    return v
  }
  if (typeof o.quantile !== 'number' || !(o.quantile >= 0.5 && o.quantile <= 0.999)) throw invalidOption('hedge.quantile', 'a number from 0.5 to 0.999', o.quantile)
  if (typeof o.maxExtraRatio !== 'number' || !(o.maxExtraRatio >= 0 && o.maxExtraRatio <= 1)) throw invalidOption('hedge.maxExtraRatio', 'a number from 0 to 1', o.maxExtraRatio)
  const floorMs = ms('floorMs', 0)
  const maxMs = ms('maxMs', floorMs)
  return Object.freeze({
    enabled: o.enabled,
    quantile: o.quantile,
    floorMs,
    maxMs,
    initialMs: ms('initialMs', 0),
    maxExtraRatio: o.maxExtraRatio,
    burstBlocks: integerOption('hedge.burstBlocks', o.burstBlocks, 1, 1_000_000),
    parityPenaltyMs: ms('parityPenaltyMs', 0),
    recoveryHalfLifeMs: ms('recoveryHalfLifeMs', 1),
  })
}
