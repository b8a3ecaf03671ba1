import { PredictError } from './errors.js'
import { probabilityMoreThan } from './poisson-binomial.js'
import { checkArgument } from './validate.js'

/** Where one stripe's blocks sit: the backend id of each of its k+m blocks (`null` = block already lost). */
export interface StripePlacement {
  /** m: how many of the stripe's blocks may be lost without losing data, ≥ 0. */
  readonly parityBlocks: number
  /** Backend id per block, k+m entries; `null` for a block that is already missing. */
  readonly backends: readonly (string | null)[]
}

/** One object's placement: its stripes in order. */
export interface ObjectPlacement {
  readonly objectId: string
  readonly stripes: readonly StripePlacement[]
}

/** Per backend id: P(the backend is unavailable within the horizon), in [0, 1]. Unknown backends count as 1 (fail safe). */
export type BackendRiskMap = ReadonlyMap<string, number> | Readonly<Record<string, number>>

/** What {@link objectLossProbability} reports; all probabilities within the horizon of the backend risks. */
export interface ObjectRisk {
  /**
   * P(some stripe loses more than its parity count) — exact (enumeration of the backends' joint
   * fates) when the object touches at most `exactBackendLimit` backends, else `upperBound`.
   */
  readonly probability: number
  /** Whether `probability` is the exact value. */
  readonly exact: boolean
  /** The riskiest stripe's P(loss): a lower bound of the object's (exact when all stripes share one placement). */
  readonly worstStripe: number
  /** Index of that stripe (−1 for an object without stripes). */
  readonly worstStripeIndex: number
  /** 1 − Π(1 − p_stripe): an upper bound (stripe losses are positively associated: they share backends). */
  readonly upperBound: number
}

/** An entry of the generation-priority list. */
export interface PriorityEntry extends ObjectRisk {
  readonly objectId: string
}

/** Options of {@link objectLossProbability} and {@link generationPriority}. */
export interface ObjectRiskOptions {
  /** Enumerate the joint fate of at most this many distinct backends (2^n terms), 0…24. Default 16. */
  readonly exactBackendLimit?: number
}

const DEFAULT_EXACT_LIMIT = 16

function riskOf(risks: BackendRiskMap, id: string | null): number {
  if (id === null) return 1
  const p = risks instanceof Map ? risks.get(id) : (risks as Readonly<Record<string, number>>)[id]
  if (p === undefined) return 1
  return checkArgument(`backendRisk[${JSON.stringify(id)}]`, p, { min: 0, max: 1 })
}

function checkStripe(stripe: StripePlacement, index: number): void {
  if (!Number.isInteger(stripe.parityBlocks) || stripe.parityBlocks < 0 || !Array.isArray(stripe.backends) || stripe.parityBlocks > stripe.backends.length) {
    throw new PredictError('PREDICT_ERR_INVALID_ARGUMENT', `Expected \`stripes[${index}]\` to have an integer parityBlocks from 0 to its block count, got ${JSON.stringify(stripe)}`)
  }
}

/**
 * P(a stripe loses more than m of its k+m blocks within the horizon) when each block is lost with
 * its backend's probability, independently: the Poisson-binomial upper tail. A `null` block counts
 * as already lost. Two blocks on one backend are *not* independent — use {@link objectLossProbability}
 * (which enumerates backends) when a placement may repeat a backend.
 * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for a malformed stripe or a risk outside [0, 1].
 */
export function stripeLossProbability(stripe: StripePlacement, risks: BackendRiskMap): number {
  checkStripe(stripe, 0)
  return probabilityMoreThan(stripe.backends.map((b) => riskOf(risks, b)), stripe.parityBlocks)
}

/**
 * P(an object loses data within the horizon): some stripe loses more than its parity count.
 *
 * Backends fail independently with the given probabilities, but stripes do not: an object's stripes
 * rotate over the same few backends, so their losses are positively associated (Harris/FKG) and
 *   max_s p_s  ≤  P(object lost)  ≤  1 − Π_s (1 − p_s).
 * The exact value sums, over every subset of the object's distinct backends that fails, the
 * subset's probability when it breaks some stripe (each distinct stripe pattern checked once):
 * 2^n terms, done when n ≤ `exactBackendLimit` (16 by default); beyond, `probability` is the upper bound.
 * @throws PredictError `PREDICT_ERR_INVALID_ARGUMENT` for a malformed placement or a risk outside [0, 1].
 */
export function objectLossProbability(placement: ObjectPlacement, risks: BackendRiskMap, options: ObjectRiskOptions = {}): ObjectRisk {
  const limit = options.exactBackendLimit ?? DEFAULT_EXACT_LIMIT
  if (!Number.isInteger(limit) || limit < 0 || limit > 24) {
    throw new PredictError('PREDICT_ERR_INVALID_OPTION', `Expected \`exactBackendLimit\` to be an integer from 0 to 24, got \`${String(limit)}\` (${typeof limit})`)
  }
  const stripes = placement.stripes
  stripes.forEach(checkStripe)
  let worstStripe = 0
  let worstStripeIndex = -1
  let survive = 1
  const patterns = new Map<string, StripePlacement>()
  stripes.forEach((stripe, i) => {
    const p = probabilityMoreThan(stripe.backends.map((b) => riskOf(risks, b)), stripe.parityBlocks)
    if (p > worstStripe || worstStripeIndex < 0) {
      worstStripe = p
      worstStripeIndex = i
    }
    survive *= 1 - p
    patterns.set(`${stripe.parityBlocks}|${[...stripe.backends].map(String).sort().join(',')}`, stripe)
  })
  const upperBound = 1 - survive
  const ids = [...new Set(stripes.flatMap((s) => s.backends.filter((b): b is string => b !== null)))]
  if (ids.length > limit) return { probability: upperBound, exact: false, worstStripe, worstStripeIndex, upperBound }

  // Each pattern as (bitmask per block, allowed losses after the nulls); a failing subset breaks it when > allowed of its blocks fall in.
  const bit = new Map(ids.map((id, i) => [id, i]))
  const checks = [...patterns.values()].map((s) => {
    const nulls = s.backends.filter((b) => b === null).length
    return { masks: s.backends.filter((b): b is string => b !== null).map((b) => 1 << bit.get(b)!), allowed: s.parityBlocks - nulls }
  })
  const p = ids.map((id) => riskOf(risks, id))
  let lost = 0
  for (let subset = 0; subset < 1 << ids.length; subset++) {
    let weight = 1
    for (let i = 0; i < ids.length; i++) weight *= subset & (1 << i) ? p[i]! : 1 - p[i]!
    if (weight === 0) continue
    if (checks.some((c) => c.allowed < 0 || c.masks.filter((m) => subset & m).length > c.allowed)) lost += weight
  }
  return { probability: Math.min(1, lost), exact: true, worstStripe, worstStripeIndex, upperBound }
}

/**
 * The generation-priority list: every object with its P(loss within the horizon), riskiest first
 * (ties by object id, so the order is stable). Pure over a snapshot of placements and backend risks;
 * the background worker takes work from the head.
 * @throws PredictError like {@link objectLossProbability}.
 */
export function generationPriority(placements: Iterable<ObjectPlacement>, risks: BackendRiskMap, options: ObjectRiskOptions = {}): PriorityEntry[] {
  const entries: PriorityEntry[] = []
  for (const placement of placements) entries.push({ objectId: placement.objectId, ...objectLossProbability(placement, risks, options) })
  return entries.sort((a, b) => b.probability - a.probability || (a.objectId < b.objectId ? -1 : a.objectId > b.objectId ? 1 : 0))
}
