import { objectLossProbability, type ObjectPlacement, type PriorityEntry } from '@tessera/predict'
import type { Manifest, StripeRecord } from '@tessera/storage'
import type { BackendRiskReport } from '../risk/risk-tracker.js'
import type { TaskDescriptor } from '../queue/task-queue.js'

/** Priority bands: a known loss before a predicted one, before verification, before moving load (0.5–0.99, hottest first), before giving space back. */
export const PRIORITY = Object.freeze({ regenerate: 3, predicted: 2, scrub: 1, rebalance: 0.5, drop: 0 })

/** A live object and its manifest. */
export interface IndexedObject {
  readonly objectId: string
  readonly manifest: Manifest
}

/** What {@link planPredictive} needs besides the objects. */
export interface PlanInput {
  readonly objects: ReadonlyMap<string, IndexedObject>
  readonly priority: readonly PriorityEntry[]
  readonly risks: ReadonlyMap<string, BackendRiskReport>
  readonly now: number
  /** The store's base parity (m) and the cap on parity per stripe. */
  readonly baseParity: number
  readonly maxParity: number
  readonly migrateRiskThreshold: number
  readonly addParityThreshold: number
  readonly dropParityThreshold: number
  readonly dropParityAfterMs: number
  readonly maxBoostedObjects: number
  readonly maxTasks: number
  /** Since when each object's risk has stayed below `dropParityThreshold` (updated in place). */
  readonly calmSince: Map<string, number>
  /**
   * Backends that are, or are predicted within the horizon to be, short of free space, with how
   * many blocks to move off each (see `fillingBackends`). Empty when no other backend has room.
   */
  readonly filling: ReadonlyMap<string, number>
}

/** Estimated bytes to regenerate `count` blocks of a stripe: k reads + the writes and read-backs. */
export function regenerateBytes(stripe: StripeRecord, count: number): number {
  return (stripe.dataBlocks + 2 * count) * stripe.blockBytes
}

/** A regenerate task for blocks of one stripe (identified by backend, so a stale task is skipped). */
export function regenerateTask(objectId: string, stripeIndex: number, stripe: StripeRecord, blocks: readonly number[], reason: string, risk: number, avoid: readonly string[]): TaskDescriptor {
  return {
    kind: 'regenerate',
    key: `regenerate:${objectId}:${stripeIndex}`,
    priority: PRIORITY.regenerate + risk,
    bytes: regenerateBytes(stripe, blocks.length),
    reason,
    payload: { objectId, stripe: stripeIndex, blocks: blocks.map((i) => ({ index: i, backend: stripe.blocks[i]?.backend ?? null })), avoid: [...avoid] },
  }
}

/**
 * The predictive policy's plan for one evaluation, riskiest object first:
 * 1. blocks recorded missing, or on a backend that is down → regenerate (elsewhere);
 * 2. blocks on a backend whose risk ≥ `migrateRiskThreshold` → migrate each to a safer backend;
 *    blocks on a backend filling up → migrate as many as its shortfall of free space (`filling`);
 * 3. objects whose *residual* P(loss) ≥ `addParityThreshold` → one more parity block per stripe (up to the cap);
 * 4. objects with added parity whose residual P(loss) stayed < `dropParityThreshold` for `dropParityAfterMs` → back to the base.
 *
 * Residual risk: the object's P(loss) once steps 1 and 2 are done — every lost block and every block
 * on a risky backend counted as if already on a safe backend (the least risky one's risk, each on a
 * backend of its own). Concentrated risk is cheaper to move away from (a migration copies one block;
 * new parity reads k and writes one per stripe, and is dropped again later); parity is for the diffuse
 * risk no single move removes — several backends each somewhat likely to fail.
 * Pure: the caller queues the tasks (the queue dedupes what is already waiting).
 */
export function planPredictive(input: PlanInput): TaskDescriptor[] {
  const tasks: TaskDescriptor[] = []
  const down = new Set([...input.risks.values()].filter((r) => r.unavailable).map((r) => r.backend))
  const risky = new Set([...input.risks.values()].filter((r) => !r.unavailable && r.probability >= input.migrateRiskThreshold).map((r) => r.backend))
  const avoid = [...down, ...risky]
  const safeRisk = Math.min(1, ...[...input.risks.values()].filter((r) => !r.unavailable && r.probability < input.migrateRiskThreshold).map((r) => r.probability))
  const riskMap = new Map([...input.risks].map(([id, r]) => [id, r.probability]))
  const moveOff = new Map(input.filling)
  let boosted = 0
  for (const { manifest } of input.objects.values()) if (manifest.stripes.some((s) => s.parityBlocks > input.baseParity)) boosted++

  for (const entry of input.priority) {
    if (tasks.length >= input.maxTasks) break
    const object = input.objects.get(entry.objectId)
    if (!object) continue
    const { objectId, manifest } = object
    const p = entry.probability
    const residual = residualRisk(objectId, manifest, down, risky, riskMap, safeRisk)
    manifest.stripes.forEach((stripe, s) => {
      const lost = stripe.blocks.flatMap((b, i) => (b === null || down.has(b.backend) ? [i] : []))
      // Each regenerated block needs a live backend outside the stripe; plan only as many as there are
      // (with more parity than backends allow, the rest would fail every time and waste reads).
      const inStripe = new Set(stripe.blocks.map((b) => b?.backend))
      const room = [...input.risks.keys()].filter((id) => !down.has(id) && !inStripe.has(id)).length
      const now = lost.slice(0, room)
      if (now.length > 0) tasks.push(regenerateTask(objectId, s, stripe, now, now.some((i) => stripe.blocks[i] === null) ? 'block-missing' : 'backend-down', p, avoid))
      stripe.blocks.forEach((b, i) => {
        if (!b || down.has(b.backend)) return
        const left = moveOff.get(b.backend) ?? 0
        if (!risky.has(b.backend) && left <= 0) return
        if (!risky.has(b.backend)) moveOff.set(b.backend, left - 1)
        tasks.push({
          kind: 'migrate',
          key: `migrate:${objectId}:${s}:${i}`,
          priority: PRIORITY.predicted + p,
          bytes: 3 * stripe.blockBytes,
          reason: risky.has(b.backend) ? 'backend-risk' : 'backend-filling',
          payload: { objectId, stripe: s, block: i, backend: b.backend, key: b.key, backendRisk: input.risks.get(b.backend)?.probability ?? 1 },
        })
      })
    })
    const parities = manifest.stripes.map((s) => s.parityBlocks)
    const minParity = parities.length > 0 ? Math.min(...parities) : input.baseParity
    const maxParity = parities.length > 0 ? Math.max(...parities) : input.baseParity
    if (residual >= input.addParityThreshold) {
      input.calmSince.delete(objectId)
      const target = Math.min(minParity + 1, input.maxParity)
      const isBoosted = maxParity > input.baseParity
      if (target > minParity && (isBoosted || boosted < input.maxBoostedObjects)) {
        if (!isBoosted) boosted++
        const bytes = manifest.stripes.reduce((sum, st) => sum + (2 * st.dataBlocks + 2 * Math.max(0, target - st.parityBlocks)) * st.blockBytes, 0)
        tasks.push({ kind: 'add-parity', key: `parity:${objectId}`, priority: PRIORITY.predicted + p, bytes, reason: 'object-risk', payload: { objectId, parityBlocks: target, objectRisk: residual, avoid: [...avoid] } })
      }
    } else if (residual < input.dropParityThreshold) {
      const since = input.calmSince.get(objectId) ?? input.now
      input.calmSince.set(objectId, since)
      if (maxParity > input.baseParity && input.now - since >= input.dropParityAfterMs) {
        tasks.push({ kind: 'drop-parity', key: `parity:${objectId}`, priority: PRIORITY.drop, bytes: 0, reason: 'risk-passed', payload: { objectId, parityBlocks: input.baseParity, objectRisk: residual } })
      }
    } else {
      input.calmSince.delete(objectId)
    }
  }
  return tasks.slice(0, input.maxTasks)
}

/** One capacity reading of a backend. */
export interface CapacityReading {
  readonly atMs: number
  readonly totalBytes: number
  readonly freeBytes: number
}

/** Free space kept above `minFreeFraction` once a backend is relieved, as a fraction of its size. */
export const FILL_HEADROOM = 0.05

/**
 * Blocks to move off each backend short of free space: one whose free fraction is below
 * `minFreeFraction` now, or will be at `now + horizonMs` on the straight line through its oldest and
 * newest readings, gives up enough blocks to end `FILL_HEADROOM` above it. Empty when no backend
 * outside `excluded` (down or risky) and not filling is left to take the blocks — moving them
 * between full backends would only fail.
 */
export function fillingBackends(history: ReadonlyMap<string, readonly CapacityReading[]>, options: { readonly now: number; readonly horizonMs: number; readonly minFreeFraction: number; readonly blockBytes: number; readonly excluded: ReadonlySet<string> }): Map<string, number> {
  const out = new Map<string, number>()
  let roomy = 0
  for (const [backend, readings] of history) {
    const last = readings.at(-1)
    if (!last || last.totalBytes <= 0) continue
    const first = readings[0]!
    const slope = last.atMs > first.atMs ? (last.freeBytes - first.freeBytes) / (last.atMs - first.atMs) : 0
    const projected = slope < 0 ? last.freeBytes + slope * (options.now + options.horizonMs - last.atMs) : last.freeBytes
    const free = Math.min(last.freeBytes, projected)
    if (free / last.totalBytes >= options.minFreeFraction) {
      if (!options.excluded.has(backend)) roomy++
      continue
    }
    const shortfall = (options.minFreeFraction + FILL_HEADROOM) * last.totalBytes - free
    out.set(backend, Math.ceil(shortfall / options.blockBytes))
  }
  return roomy > 0 ? out : new Map()
}

/** P(loss) of an object with its lost blocks and its blocks on risky backends counted as moved to safe ones. */
function residualRisk(objectId: string, manifest: Manifest, down: ReadonlySet<string>, risky: ReadonlySet<string>, risks: ReadonlyMap<string, number>, safeRisk: number): number {
  const map = new Map(risks)
  let n = 0
  const placement: ObjectPlacement = {
    objectId,
    stripes: manifest.stripes.map((s) => ({
      parityBlocks: s.parityBlocks,
      backends: s.blocks.map((b) => {
        if (b && !down.has(b.backend) && !risky.has(b.backend)) return b.backend
        const id = `\0moved${n++}`
        map.set(id, safeRisk)
        return id
      }),
    })),
  }
  return objectLossProbability(placement, map).probability
}
