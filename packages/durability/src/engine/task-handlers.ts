import { addParity, dropParity, isStorageError, migrateBlock, regenerateBlocks, scrub, type ScrubLedger, type StripeRecord } from '@tessera/storage'
import type { Json, TaskDescriptor } from '../queue/task-queue.js'
import type { DurabilityEvent } from './durability-event.js'
import type { ResolvedDurabilityOptions } from './durability-options.js'
import { PRIORITY, type IndexedObject } from './plan.js'

/** What the task handlers use of the {@link DurabilityEngine}. Internal. */
export interface TaskContext {
  readonly options: ResolvedDurabilityOptions
  readonly ledger: ScrubLedger
  /** Records and logs an event (the engine's one way to report). */
  readonly emit: (partial: Omit<DurabilityEvent, 'atMs'>) => void
  /** Backends by preference for new blocks (safe by risk then load first; never down ones). */
  readonly targets: () => string[]
  /** Backends not to place new blocks on: down, at risk, short of space. */
  readonly avoid: () => string[]
  /** The object as of the last evaluation. */
  readonly indexed: (objectId: string) => IndexedObject | undefined
  /** Queues the regeneration of blocks a scrub found bad. */
  readonly queueFaults: (objectId: string, stripe: number, faults: readonly { block: number; backend: string | null; kind: string }[], reason: string) => Promise<void>
}

type Base = { readonly reason: string; readonly objectId?: string }

/**
 * Runs one task (any kind) and reports what it did as events. An object deleted meanwhile is
 * `skipped` (`object-gone`); other failures are `failed` with their code and rethrown (the queue
 * counts them; the engine backs off tasks that found nowhere to write).
 */
export async function executeTask(task: TaskDescriptor, ctx: TaskContext): Promise<void> {
  const p = task.payload
  const base: Base = { reason: task.reason, ...(typeof p.objectId === 'string' && { objectId: p.objectId }) }
  try {
    switch (task.kind) {
      case 'regenerate':
        return await regenerate(task, ctx, base)
      case 'migrate':
        return await move(task, ctx, base, ctx.targets(), { risk: p.backendRisk as number })
      case 'rebalance':
        // Its targets were ranked by forecast load when planned; eligibility is checked again now.
        return await move(task, ctx, base, p.targets as string[], {}, ctx.options.rebalanceDrainMs)
      case 'add-parity':
        return await addMoreParity(task, ctx, base)
      case 'drop-parity':
        return await dropExtraParity(task, ctx, base)
      case 'scrub':
        return await scrubPass(task, ctx)
    }
  } catch (err) {
    const code = isStorageError(err) ? err.code : ((err as { code?: string }).code ?? 'UNKNOWN')
    if (code === 'STORAGE_ERR_NOT_FOUND') return ctx.emit({ action: task.kind, outcome: 'skipped', ...base, reason: 'object-gone' })
    ctx.emit({ action: task.kind, outcome: 'failed', ...base, code, ...(typeof p.stripe === 'number' && { stripe: p.stripe }), ...(typeof p.block === 'number' && { block: p.block }) })
    throw err
  }
}

async function regenerate(task: TaskDescriptor, ctx: TaskContext, base: Base): Promise<void> {
  const p = task.payload
  const objectId = p.objectId as string
  const s = p.stripe as number
  const manifest = await ctx.options.store.options.manifests.get(objectId)
  const stripe = manifest && !manifest.deleted ? manifest.stripes[s] : undefined
  const planned = (p.blocks as { index: number; backend: string | null }[]) ?? []
  const still = stripe ? planned.filter((b) => b.index < stripe.blocks.length && (stripe.blocks[b.index]?.backend ?? null) === b.backend).map((b) => b.index) : []
  if (still.length === 0) return ctx.emit({ action: 'regenerate', outcome: 'skipped', ...base, stripe: s, reason: 'already-repaired' })
  const options = ctx.options.policy === 'predictive' ? { targetBackends: ctx.targets() } : {}
  const result = await regenerateBlocks(ctx.options.store, objectId, s, still, options)
  for (const r of result.regenerated) {
    ctx.emit({ action: 'regenerate', outcome: 'done', ...base, stripe: s, block: r.block, backend: planned.find((b) => b.index === r.block)?.backend ?? null, targets: [r.ref.backend], risk: task.priority - PRIORITY.regenerate, detail: { verifiedBy: r.verifiedBy, rejected: r.rejected.length } })
  }
}

/**
 * A `migrate` (off a risky or filling backend) or `rebalance` (off an overloaded one) task: moves
 * the block — still the one planned, else `skipped` `block-moved` — to the first of `candidates`
 * that holds no block of its stripe and is not to be avoided (none: `failed` `DURABILITY_ERR_NO_TARGET`),
 * by `migrateBlock`'s copy → verify → manifest update → delete (after `drainReadsMs` of reads).
 */
async function move(task: TaskDescriptor, ctx: TaskContext, base: Base, candidates: readonly string[], extra: { readonly risk?: number }, drainReadsMs = 0): Promise<void> {
  const p = task.payload
  const objectId = p.objectId as string
  const where = { stripe: p.stripe as number, block: p.block as number, backend: p.backend as string, ...extra }
  const stripe = await plannedStripe(ctx, objectId, where.stripe, where.block, where.backend, p.key as string)
  if (!stripe) return ctx.emit({ action: task.kind, outcome: 'skipped', ...base, ...where, reason: 'block-moved' })
  const inStripe = new Set(stripe.blocks.map((b) => b?.backend))
  const avoid = new Set(ctx.avoid())
  const target = candidates.find((id) => !inStripe.has(id) && !avoid.has(id))
  if (!target) return ctx.emit({ action: task.kind, outcome: 'failed', ...base, ...where, code: 'DURABILITY_ERR_NO_TARGET' })
  ctx.options.logger.info({ kind: task.kind, objectId, stripe: where.stripe, block: where.block, from: where.backend, to: target }, 'block move started')
  const result = await migrateBlock(ctx.options.store, objectId, where.stripe, where.block, target, { drainReadsMs })
  const detail: Record<string, Json> = { via: result.via, deletedOld: result.deletedOld }
  if (task.kind === 'rebalance') Object.assign(detail, { bytes: stripe.blockBytes, readsPerSecond: p.readsPerSecond as number, imbalance: p.imbalance as number, readsDrained: result.readsDrained })
  ctx.emit({ action: task.kind, outcome: 'done', ...base, ...where, targets: [result.to.backend], detail })
}

/** The live stripe of a block if its manifest still has the block where the task found it. */
async function plannedStripe(ctx: TaskContext, objectId: string, s: number, block: number, backend: string, key: string): Promise<StripeRecord | undefined> {
  const manifest = await ctx.options.store.options.manifests.get(objectId)
  const stripe = manifest && !manifest.deleted ? manifest.stripes[s] : undefined
  const ref = stripe?.blocks[block]
  return ref && ref.backend === backend && ref.key === key ? stripe : undefined
}

async function addMoreParity(task: TaskDescriptor, ctx: TaskContext, base: Base): Promise<void> {
  const p = task.payload
  const changes = await addParity(ctx.options.store, p.objectId as string, { parityBlocks: p.parityBlocks as number, targetBackends: ctx.targets() })
  const targets = changes.flatMap((c) => c.added.map((a) => a.ref.backend))
  if (changes.length === 0) return ctx.emit({ action: 'add-parity', outcome: 'skipped', ...base, reason: 'already-at-parity' })
  ctx.emit({ action: 'add-parity', outcome: 'done', ...base, targets: [...new Set(targets)], risk: p.objectRisk as number, detail: { stripes: changes.length, to: p.parityBlocks as number, blocks: targets.length } })
}

async function dropExtraParity(task: TaskDescriptor, ctx: TaskContext, base: Base): Promise<void> {
  const p = task.payload
  const changes = await dropParity(ctx.options.store, p.objectId as string, { parityBlocks: p.parityBlocks as number })
  if (changes.length === 0) return ctx.emit({ action: 'drop-parity', outcome: 'skipped', ...base, reason: 'already-at-base' })
  ctx.emit({ action: 'drop-parity', outcome: 'done', ...base, risk: p.objectRisk as number, detail: { stripes: changes.length, to: p.parityBlocks as number, deleted: changes.reduce((n, c) => n + c.deleted.length, 0) } })
}

async function scrubPass(task: TaskDescriptor, ctx: TaskContext): Promise<void> {
  const o = ctx.options
  const report = await scrub(o.store, { ledger: ctx.ledger, limit: task.payload.limit as number, now: () => o.clock.now(), repair: false })
  const byStripe = new Map<string, { objectId: string; stripe: number; faults: { block: number; backend: string | null; kind: string }[] }>()
  for (const f of report.faults) {
    const ref = ctx.indexed(f.objectId)?.manifest.stripes[f.stripe]?.blocks[f.block] ?? (await o.store.options.manifests.get(f.objectId))?.stripes[f.stripe]?.blocks[f.block]
    const backend = ref?.backend ?? null
    o.health.recordFault({ backend, kind: f.problem })
    const key = `${f.objectId}#${f.stripe}`
    const entry = byStripe.get(key) ?? { objectId: f.objectId, stripe: f.stripe, faults: [] }
    entry.faults.push({ block: f.block, backend, kind: f.problem })
    byStripe.set(key, entry)
  }
  ctx.emit({ action: 'scrub', outcome: 'done', reason: task.reason, detail: { verified: report.verified, faults: report.faults.length } })
  for (const { objectId, stripe, faults } of byStripe.values()) await ctx.queueFaults(objectId, stripe, faults, `scrub-${faults[0]!.kind}`)
}
