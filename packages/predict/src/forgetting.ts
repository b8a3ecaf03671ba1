// Internal: the decay both posteriors apply to their evidence (the pseudo-counts in excess of the prior).
import { elapsedSince } from './validate.js'

/**
 * Multiplier for evidence last updated at `lastMs` when time moves to `atMs`: 0.5^(Δt/halfLifeMs),
 * 1 for Δt ≤ 0 or an infinite half-life, times `factor` (the per-observation forgetting factor).
 */
export function decayFactor(lastMs: number | null, atMs: number, halfLifeMs: number, factor = 1): number {
  const dt = elapsedSince(lastMs, atMs)
  return dt === 0 || halfLifeMs === Infinity ? factor : factor * 0.5 ** (dt / halfLifeMs)
}

/** The later of the two clocks: a late (out-of-order) observation never moves a model's clock back. */
export function laterMs(lastMs: number | null, atMs: number): number {
  return lastMs === null ? atMs : Math.max(lastMs, atMs)
}
