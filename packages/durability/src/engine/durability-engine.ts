import type { PriorityEntry } from '@tessera/predict'
import { ScrubLedger, addParity, dropParity, isStorageError, migrateBlock, regenerateBlocks, scrub, type BlockFault, type Manifest } from '@tessera/storage'
import { every } from '../clock.js'
import { DurabilityError, invalidArgument } from '../errors.js'
import type { BackendHealthSnapshot, IoTotals } from '../health/health-monitor.js'
import { runAs } from '../health/io-context.js'
import { InProcessTaskQueue } from '../queue/in-process-task-queue.js'
import type { TaskDescriptor, TaskQueue } from '../queue/task-queue.js'
import { RiskTracker, type BackendRiskReport } from '../risk/risk-tracker.js'
import type { DurabilityEvent } from './durability-event.js'
import { resolveDurabilityOptions, type DurabilityOptions, type DurabilityPolicy, type ResolvedDurabilityOptions } from './durability-options.js'
import { PRIORITY, fillingBackends, planPredictive, regenerateTask, type CapacityReading, type IndexedObject } from './plan.js'
import { RingSeries } from '../health/health-series.js'

/** One backend in {@link DurabilityStatus}. */
export interface BackendStatus extends Omit<BackendHealthSnapshot, 'series'> {
  readonly risk: BackendRiskReport
  /** Blocks the manifests place on it (as of the last evaluation). */
  readonly blocks: number
}

/** {@link DurabilityEngine.status}: the operator's JSON. */
export interface DurabilityStatus {
  readonly policy: DurabilityPolicy
  readonly running: boolean
  readonly atMs: number
  readonly evaluations: number
  readonly lastEvaluationMs: number | null
  readonly objects: number
  readonly backends: readonly BackendStatus[]
  /** The generation-priority list's head: riskiest objects first. */
  readonly priority: readonly (PriorityEntry & { readonly parityBlocks: number })[]
  readonly queue: { readonly waiting: number; readonly running: number; readonly paused: boolean }
  /** Actions per kind and outcome since construction. */
  readonly totals: Readonly<Record<string, Readonly<Record<string, number>>>>
  /** Backend bytes and operations per purpose (foreground, probe, scrub, regenerate, migrate, …). */
  readonly io: IoTotals
  /** The latest actions, newest last. */
  readonly recent: readonly DurabilityEvent[]
}

/** What one {@link DurabilityEngine.evaluate} did. */
export interface EvaluationReport {
  readonly atMs: number
  readonly objects: number
  /** Tasks the plan produced, and how many were new to the queue (the rest were deduplicated). */
  readonly planned: number
  readonly queued: number
}

const FAULT_KINDS = new Set(['missing', 'unreadable', 'corrupt'])
/** Capacity readings kept per backend (one per evaluation): the trend of free space is drawn through them. */
const CAPACITY_READINGS = 8
/** Wait before re-queuing a task that found nowhere to write, ms: doubles per failure within these bounds. */
const BACKOFF_MIN_MS = 30_000
const BACKOFF_MAX_MS = 30 * 60_000
/** How far a suspect stripe's verification time is moved back: ahead of any real time, order kept. */
const SUSPECT_SHIFT_MS = 1e15

/**
 * Keeps an {@link ObjectStore} durable in the background: tracks each backend's health and risk,
 * computes every object's loss probability (the generation-priority list), and — per its policy —
 * regenerates lost or corrupt blocks, migrates blocks off backends predicted to fail, adds parity
 * to risky objects and drops it when the risk has passed, and scrubs oldest-verified stripes
 * first. All work goes through a rate-limited {@link TaskQueue} of plain-data tasks and the
 * storage repair primitives (which verify every generated block by re-derivation).
 *
 * The constructor does no I/O; `start()` arms the timers; `stop()` is final (graceful shutdown).
 */
export class DurabilityEngine {
  readonly options: ResolvedDurabilityOptions
  readonly risk: RiskTracker
  readonly queue: TaskQueue
  readonly ledger: ScrubLedger
  readonly #recent: RingSeries<DurabilityEvent>
  readonly #listeners = new Set<(event: DurabilityEvent) => void>()
  readonly #locks = new Map<string, Promise<void>>()
  readonly #calmSince = new Map<string, number>()
  readonly #suspectedAt = new Map<string, number>()
  readonly #totals: Record<string, Record<string, number>> = {}
  /**
   * Tasks that failed for want of a place to write (no target backend, no write quorum), by key:
   * not queued again before `untilMs`; the wait doubles per failure from 30 s up to 30 min. Without
   * it, every GET of a degraded object on exactly k+m backends re-queued a repair that could only
   * fail, and logged a warning each time.
   */
  readonly #backoff = new Map<string, { untilMs: number; delayMs: number }>()
  /** Capacity readings per backend at the last evaluations, oldest first (for `fillingBackends`). */
  readonly #capacity = new Map<string, CapacityReading[]>()
  #index = new Map<string, IndexedObject>()
  #priority: PriorityEntry[] = []
  #blocksPerBackend = new Map<string, number>()
  #stops: (() => void)[] = []
  #running = false
  #stopped = false
  #evaluations = 0
  #lastEvaluationMs: number | null = null
  readonly #unsubscribe: () => void

  /** @throws DurabilityError `DURABILITY_ERR_INVALID_OPTION`. */
  constructor(options: DurabilityOptions) {
    this.options = resolveDurabilityOptions(options)
    const o = this.options
    this.risk = new RiskTracker({ ...(o.risk && { risk: o.risk }), ...(o.createForecaster && { createForecaster: o.createForecaster }), warmupSamples: o.riskWarmupSamples })
    this.queue = o.queue ?? new InProcessTaskQueue({ clock: o.clock, logger: o.logger })
    this.ledger = o.ledger ?? ScrubLedger.memory()
    this.#recent = new RingSeries(Math.max(1, o.recentActions))
    this.queue.process((task) => this.#run(task))
    this.#unsubscribe = o.health.onWindow((records) => this.risk.observeWindow(records))
  }

  /** The policy in force. */
  get policy(): DurabilityPolicy {
    return this.options.policy
  }

  /** Starts the health monitor's timers, evaluations and (unless policy `none`) scrub passes. Idempotent. */
  start(): void {
    if (this.#stopped) throw new DurabilityError('DURABILITY_ERR_CLOSED', 'the durability engine was stopped')
    if (this.#running) return
    this.#running = true
    const o = this.options
    const onError = (err: unknown): void => o.logger.error({ err }, 'durability timer failed')
    o.health.start()
    this.#stops.push(every(o.clock, o.evaluateIntervalMs, async () => void (await this.evaluate()), onError))
    if (o.policy !== 'none') this.#stops.push(every(o.clock, o.scrubIntervalMs, async () => void (await this.scrubSoon('periodic')), onError))
  }

  /** Stops timers and the health monitor, drops waiting tasks and waits for running ones. Final. */
  async stop(): Promise<void> {
    for (const stop of this.#stops) stop()
    this.#stops = []
    this.options.health.stop()
    this.#running = false
    this.#stopped = true
    this.#unsubscribe()
    await this.queue.close()
  }

  /** Calls `listener` with every event. Returns an unsubscribe function. */
  onEvent(listener: (event: DurabilityEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Resolves when the queue has nothing waiting or running. */
  idle(): Promise<void> {
    return this.queue.onIdle()
  }

  /**
   * The read path's report of a block it had to read around (`ReadOptions.onFault` of the store).
   * Counts a corrupt block against its backend's health and, unless policy `none`, queues its
   * regeneration; under `predictive` a corrupt block also sends the backend's other stripes to the
   * head of the scrub order. Validates synchronously; the returned promise resolves once the work
   * is queued (the read path need not wait for it) and never rejects (failures are logged).
   * @throws DurabilityError `DURABILITY_ERR_INVALID_ARGUMENT` for a malformed fault.
   */
  onFault(fault: BlockFault): Promise<void> {
    if (typeof fault !== 'object' || fault === null) throw invalidArgument('fault', 'a BlockFault', fault)
    if (typeof fault.objectId !== 'string' || fault.objectId === '') throw invalidArgument('fault.objectId', 'a non-empty string', fault.objectId)
    if (!Number.isInteger(fault.stripe) || fault.stripe < 0) throw invalidArgument('fault.stripe', 'an integer from 0 and up', fault.stripe)
    if (!Number.isInteger(fault.block) || fault.block < 0) throw invalidArgument('fault.block', 'an integer from 0 and up', fault.block)
    if (!FAULT_KINDS.has(fault.kind)) throw invalidArgument('fault.kind', "'missing', 'unreadable' or 'corrupt'", fault.kind)
    if (fault.backend !== null && typeof fault.backend !== 'string') throw invalidArgument('fault.backend', 'a string or null', fault.backend)
    this.options.health.recordFault(fault)
    this.#emit({ action: 'fault', outcome: 'observed', reason: `read-${fault.kind}`, objectId: fault.objectId, stripe: fault.stripe, block: fault.block, backend: fault.backend, ...(fault.code && { code: fault.code }) })
    if (this.options.policy === 'none' || this.#stopped) return Promise.resolve()
    return this.#queueFaults(fault.objectId, fault.stripe, [{ block: fault.block, backend: fault.backend, kind: fault.kind }], `read-${fault.kind}`).catch((err) =>
      this.options.logger.error({ err, objectId: fault.objectId }, 'could not queue a repair for a read fault'),
    )
  }

  /**
   * One evaluation: re-reads the manifests, refreshes backend risks and the priority list and,
   * under `predictive`, queues the plan ({@link planPredictive}). Called by the timer; callable
   * directly (tests, simulations).
   */
  async evaluate(): Promise<EvaluationReport> {
    const o = this.options
    const now = o.clock.now()
    const index = new Map<string, IndexedObject>()
    const counts = new Map<string, number>(o.health.backendIds.map((id) => [id, 0]))
    for await (const objectId of o.store.options.manifests.list()) {
      const manifest = await o.store.options.manifests.get(objectId)
      if (!manifest || manifest.deleted) continue
      index.set(objectId, { objectId, manifest })
      for (const s of manifest.stripes) for (const b of s.blocks) if (b) counts.set(b.backend, (counts.get(b.backend) ?? 0) + 1)
    }
    for (const id of this.#calmSince.keys()) if (!index.has(id)) this.#calmSince.delete(id)
    const risks = this.#risks()
    this.#readCapacity(now)
    this.#index = index
    this.#blocksPerBackend = counts
    this.#priority = this.risk.priority(index.values(), risks)
    this.#evaluations++
    this.#lastEvaluationMs = now
    if (o.policy !== 'predictive') return { atMs: now, objects: index.size, planned: 0, queued: 0 }
    const k = o.store.options.dataBlocks
    const tasks = planPredictive({
      objects: index,
      priority: this.#priority,
      risks,
      now,
      baseParity: o.store.options.parityBlocks,
      maxParity: Math.min(o.store.options.parityBlocks + o.maxExtraParity, o.store.options.backends.length - k),
      migrateRiskThreshold: o.migrateRiskThreshold,
      addParityThreshold: o.addParityThreshold,
      dropParityThreshold: o.dropParityThreshold,
      dropParityAfterMs: o.dropParityAfterMs ?? this.risk.horizonMs,
      maxBoostedObjects: o.maxBoostedObjects,
      maxTasks: o.maxTasksPerEvaluation,
      calmSince: this.#calmSince,
      filling: this.#filling(risks),
    })
    let queued = 0
    for (const task of tasks) if (await this.#add(task)) queued++
    return { atMs: now, objects: index.size, planned: tasks.length, queued }
  }

  /** Queues a scrub pass (deduplicated with one already waiting). Resolves whether it was new. */
  scrubSoon(reason = 'requested', priority: number = PRIORITY.scrub): Promise<boolean> {
    const o = this.options
    const width = o.store.options.dataBlocks + o.store.options.parityBlocks
    return this.#add({ kind: 'scrub', key: 'scrub', priority, bytes: o.scrubStripesPerPass * width * o.store.options.blockBytes, reason, payload: { limit: o.scrubStripesPerPass } })
  }

  /** The operator's view (JSON): per-backend health and risk, the priority list's head, the queue, recent actions. */
  status(): DurabilityStatus {
    const o = this.options
    const health = o.health.snapshot()
    const risks = this.#risks()
    return {
      policy: o.policy,
      running: this.#running,
      atMs: o.clock.now(),
      evaluations: this.#evaluations,
      lastEvaluationMs: this.#lastEvaluationMs,
      objects: this.#index.size,
      backends: health.backends.map(({ series: _s, ...b }) => ({ ...b, risk: risks.get(b.backend)!, blocks: this.#blocksPerBackend.get(b.backend) ?? 0 })),
      priority: this.#priority.slice(0, o.statusTopN).map((e) => ({ ...e, parityBlocks: Math.max(0, ...(this.#index.get(e.objectId)?.manifest.stripes.map((s) => s.parityBlocks) ?? [0])) })),
      queue: { waiting: this.queue.size, running: this.queue.pending, paused: this.queue.isPaused },
      totals: structuredClone(this.#totals),
      io: health.io,
      recent: this.#recent.toArray(),
    }
  }

  #risks(): Map<string, BackendRiskReport> {
    return this.risk.backendRisks(this.options.health.backendIds)
  }

  async #add(task: TaskDescriptor): Promise<boolean> {
    if (this.#stopped) return false
    const wait = this.#backoff.get(task.key)
    if (wait && this.options.clock.now() < wait.untilMs) {
      this.#count(task.kind, 'deferred')
      return false
    }
    const added = await this.queue.add(task)
    if (added) {
      this.#count(task.kind, 'planned')
      this.options.logger.debug({ kind: task.kind, key: task.key, reason: task.reason, priority: task.priority }, 'durability task queued')
    }
    return added
  }

  /** Queues the regeneration of reported blocks of one stripe (and, predictive + corrupt, a suspect sweep). */
  async #queueFaults(objectId: string, stripeIndex: number, faults: readonly { block: number; backend: string | null; kind: string }[], reason: string): Promise<void> {
    if (this.options.policy === 'none') return
    const manifest = await this.options.store.options.manifests.get(objectId)
    const stripe = manifest && !manifest.deleted ? manifest.stripes[stripeIndex] : undefined
    if (!stripe) return
    const blocks = faults.filter((f) => f.block < stripe.blocks.length && (stripe.blocks[f.block]?.backend ?? null) === f.backend).map((f) => f.block)
    if (blocks.length > 0) {
      const p = this.#priority.find((e) => e.objectId === objectId)?.probability ?? 0
      await this.#add(regenerateTask(objectId, stripeIndex, stripe, blocks, reason, p, this.options.policy === 'predictive' ? this.#avoid() : []))
    }
    if (this.options.policy === 'predictive') {
      for (const f of faults) if (f.kind === 'corrupt' && f.backend !== null) await this.#suspect(f.backend)
    }
  }

  /**
   * Predictive: a backend returned a corrupt block, and rot seldom comes alone — so every stripe with
   * a block there that was not verified since the backend was last suspected goes ahead of all other
   * stripes in the scrub order (keeping its own oldest-first place), and a targeted pass over exactly
   * those is queued (charged to the byte budget like any task). At most once per scrub interval per backend.
   */
  async #suspect(backend: string): Promise<void> {
    const now = this.options.clock.now()
    const last = this.#suspectedAt.get(backend)
    if (last !== undefined && now - last < this.options.scrubIntervalMs) return
    this.#suspectedAt.set(backend, now)
    let stripes = 0
    for (const { objectId, manifest } of this.#index.values()) {
      manifest.stripes.forEach((s, i) => {
        if (!s.blocks.some((b) => b?.backend === backend)) return
        const at = this.ledger.verifiedAt(objectId, i)
        if (last !== undefined && at >= last) return // verified since the last suspicion
        if (at > -SUSPECT_SHIFT_MS / 2) this.ledger.record(objectId, i, at - SUSPECT_SHIFT_MS)
        stripes++
      })
    }
    if (stripes === 0) return
    this.#emit({ action: 'suspect', outcome: 'done', reason: 'corrupt-block', backend, detail: { stripes } })
    const o = this.options
    await this.#add({
      kind: 'scrub',
      key: `scrub:suspect:${backend}`,
      priority: PRIORITY.scrub + 0.5,
      bytes: stripes * (o.store.options.dataBlocks + o.store.options.parityBlocks) * o.store.options.blockBytes,
      reason: 'suspect-backend',
      payload: { limit: stripes, backend },
    })
  }

  /** Backends not to place new blocks on: down, risk ≥ the migration threshold, or short of free space (now or within the horizon). */
  #avoid(risks = this.#risks()): string[] {
    const full = this.#short(new Set())
    return [...risks.values()].filter((r) => r.unavailable || r.probability >= this.options.migrateRiskThreshold || full.has(r.backend)).map((r) => r.backend)
  }

  /**
   * Backends short of free space now (their last probe) or within the horizon (the trend through the
   * readings of the last evaluations), with the blocks to move off each (none when nobody has room).
   */
  #short(excluded: ReadonlySet<string>): Map<string, number> {
    const now = this.options.clock.now()
    const history = new Map<string, CapacityReading[]>()
    for (const b of this.options.health.snapshot().backends) {
      const c = b.capacity
      if (!c || c.totalBytes === null || c.freeBytes === null) continue
      history.set(b.backend, [...(this.#capacity.get(b.backend) ?? []), { atMs: now, totalBytes: c.totalBytes, freeBytes: c.freeBytes }])
    }
    return fillingBackends(history, {
      now,
      horizonMs: this.risk.horizonMs,
      minFreeFraction: this.options.minFreeFraction,
      blockBytes: this.options.store.options.blockBytes,
      excluded,
    })
  }

  /** {@link #short}, excluding down and risky backends from those that could take the blocks. */
  #filling(risks: ReadonlyMap<string, BackendRiskReport>): Map<string, number> {
    return this.#short(new Set([...risks.values()].filter((r) => r.unavailable || r.probability >= this.options.migrateRiskThreshold).map((r) => r.backend)))
  }

  /** Appends each backend's capacity at its last probe (kept: the last {@link CAPACITY_READINGS}). */
  #readCapacity(now: number): void {
    for (const b of this.options.health.snapshot().backends) {
      const c = b.capacity
      if (!c || c.totalBytes === null || c.freeBytes === null) continue
      const readings = this.#capacity.get(b.backend) ?? []
      readings.push({ atMs: now, totalBytes: c.totalBytes, freeBytes: c.freeBytes })
      if (readings.length > CAPACITY_READINGS) readings.shift()
      this.#capacity.set(b.backend, readings)
    }
  }

  /** Backends by preference for new blocks: safe ones by risk then load, then risky-or-full-but-up ones; never down ones. */
  #targets(): string[] {
    const risks = this.#risks()
    const avoid = new Set(this.#avoid(risks))
    const order = [...risks.values()].filter((r) => !r.unavailable).sort((a, b) => a.probability - b.probability || (this.#blocksPerBackend.get(a.backend) ?? 0) - (this.#blocksPerBackend.get(b.backend) ?? 0))
    return [...order.filter((r) => !avoid.has(r.backend)), ...order.filter((r) => avoid.has(r.backend))].map((r) => r.backend)
  }

  #deferIfNowhere(key: string, err: unknown): void {
    const code = (err as { code?: string } | undefined)?.code
    if (code !== 'STORAGE_ERR_WRITE_QUORUM' && code !== 'DURABILITY_ERR_NO_TARGET') return
    const delayMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, 2 * (this.#backoff.get(key)?.delayMs ?? 0)))
    this.#backoff.set(key, { untilMs: this.options.clock.now() + delayMs, delayMs })
  }

  async #run(task: TaskDescriptor): Promise<void> {
    // Scrub passes take the same lock among themselves: two would read the same oldest stripes.
    const objectId = typeof task.payload.objectId === 'string' ? task.payload.objectId : task.kind === 'scrub' ? '\0scrub' : undefined
    const go = (): Promise<void> =>
      runAs(task.kind, () => this.#execute(task)).then(
        () => void this.#backoff.delete(task.key),
        (err: unknown) => {
          this.#deferIfNowhere(task.key, err)
          throw err
        },
      )
    if (!objectId) return go()
    // One task per object at a time: two repairs of one stripe would only conflict.
    const before = this.#locks.get(objectId) ?? Promise.resolve()
    const mine = before.then(go, go)
    const tail = mine.catch(() => undefined)
    this.#locks.set(objectId, tail)
    try {
      await mine
    } finally {
      if (this.#locks.get(objectId) === tail) this.#locks.delete(objectId)
    }
  }

  async #execute(task: TaskDescriptor): Promise<void> {
    const o = this.options
    const p = task.payload
    const base = { reason: task.reason, ...(typeof p.objectId === 'string' && { objectId: p.objectId }) }
    try {
      switch (task.kind) {
        case 'regenerate':
          return await this.#regenerate(task, base)
        case 'migrate':
          return await this.#migrate(task, base)
        case 'add-parity': {
          const objectId = p.objectId as string
          const changes = await addParity(o.store, objectId, { parityBlocks: p.parityBlocks as number, targetBackends: this.#targets() })
          const targets = changes.flatMap((c) => c.added.map((a) => a.ref.backend))
          if (changes.length === 0) return this.#emit({ action: 'add-parity', outcome: 'skipped', ...base, reason: 'already-at-parity' })
          this.#emit({ action: 'add-parity', outcome: 'done', ...base, targets: [...new Set(targets)], risk: p.objectRisk as number, detail: { stripes: changes.length, to: p.parityBlocks as number, blocks: targets.length } })
          return
        }
        case 'drop-parity': {
          const changes = await dropParity(o.store, p.objectId as string, { parityBlocks: p.parityBlocks as number })
          if (changes.length === 0) return this.#emit({ action: 'drop-parity', outcome: 'skipped', ...base, reason: 'already-at-base' })
          this.#emit({ action: 'drop-parity', outcome: 'done', ...base, risk: p.objectRisk as number, detail: { stripes: changes.length, to: p.parityBlocks as number, deleted: changes.reduce((n, c) => n + c.deleted.length, 0) } })
          return
        }
        case 'scrub':
          return await this.#scrub(task)
      }
    } catch (err) {
      const code = isStorageError(err) ? err.code : ((err as { code?: string }).code ?? 'UNKNOWN')
      if (code === 'STORAGE_ERR_NOT_FOUND') return this.#emit({ action: task.kind, outcome: 'skipped', ...base, reason: 'object-gone' })
      this.#emit({ action: task.kind, outcome: 'failed', ...base, code, ...(typeof p.stripe === 'number' && { stripe: p.stripe }), ...(typeof p.block === 'number' && { block: p.block }) })
      throw err
    }
  }

  async #regenerate(task: TaskDescriptor, base: { reason: string; objectId?: string }): Promise<void> {
    const p = task.payload
    const objectId = p.objectId as string
    const s = p.stripe as number
    const manifest = await this.options.store.options.manifests.get(objectId)
    const stripe = manifest && !manifest.deleted ? manifest.stripes[s] : undefined
    const planned = (p.blocks as { index: number; backend: string | null }[]) ?? []
    const still = stripe ? planned.filter((b) => b.index < stripe.blocks.length && (stripe.blocks[b.index]?.backend ?? null) === b.backend).map((b) => b.index) : []
    if (still.length === 0) return this.#emit({ action: 'regenerate', outcome: 'skipped', ...base, stripe: s, reason: 'already-repaired' })
    const options = this.options.policy === 'predictive' ? { targetBackends: this.#targets() } : {}
    const result = await regenerateBlocks(this.options.store, objectId, s, still, options)
    for (const r of result.regenerated) {
      this.#emit({ action: 'regenerate', outcome: 'done', ...base, stripe: s, block: r.block, backend: planned.find((b) => b.index === r.block)?.backend ?? null, targets: [r.ref.backend], risk: task.priority - PRIORITY.regenerate, detail: { verifiedBy: r.verifiedBy, rejected: r.rejected.length } })
    }
  }

  async #migrate(task: TaskDescriptor, base: { reason: string; objectId?: string }): Promise<void> {
    const p = task.payload
    const objectId = p.objectId as string
    const s = p.stripe as number
    const block = p.block as number
    const where = { stripe: s, block, backend: p.backend as string, risk: p.backendRisk as number }
    const manifest = await this.options.store.options.manifests.get(objectId)
    const stripe = manifest && !manifest.deleted ? manifest.stripes[s] : undefined
    const ref = stripe?.blocks[block]
    if (!stripe || !ref || ref.backend !== p.backend || ref.key !== p.key) return this.#emit({ action: 'migrate', outcome: 'skipped', ...base, ...where, reason: 'block-moved' })
    const inStripe = new Set(stripe.blocks.map((b) => b?.backend))
    const avoid = new Set(this.#avoid())
    const target = this.#targets().find((id) => !inStripe.has(id) && !avoid.has(id))
    if (!target) {
      this.#emit({ action: 'migrate', outcome: 'failed', ...base, ...where, code: 'DURABILITY_ERR_NO_TARGET' })
      return
    }
    const result = await migrateBlock(this.options.store, objectId, s, block, target)
    this.#emit({ action: 'migrate', outcome: 'done', ...base, ...where, targets: [result.to.backend], detail: { via: result.via, deletedOld: result.deletedOld } })
  }

  async #scrub(task: TaskDescriptor): Promise<void> {
    const o = this.options
    const report = await scrub(o.store, { ledger: this.ledger, limit: task.payload.limit as number, now: () => o.clock.now(), repair: false })
    const byStripe = new Map<string, { objectId: string; stripe: number; faults: { block: number; backend: string | null; kind: string }[] }>()
    for (const f of report.faults) {
      const backend = this.#index.get(f.objectId)?.manifest.stripes[f.stripe]?.blocks[f.block]?.backend ?? (await this.#backendOf(f.objectId, f.stripe, f.block))
      o.health.recordFault({ backend, kind: f.problem })
      const key = `${f.objectId}#${f.stripe}`
      const entry = byStripe.get(key) ?? { objectId: f.objectId, stripe: f.stripe, faults: [] }
      entry.faults.push({ block: f.block, backend, kind: f.problem })
      byStripe.set(key, entry)
    }
    this.#emit({ action: 'scrub', outcome: 'done', reason: task.reason, detail: { verified: report.verified, faults: report.faults.length } })
    for (const { objectId, stripe, faults } of byStripe.values()) await this.#queueFaults(objectId, stripe, faults, `scrub-${faults[0]!.kind}`)
  }

  async #backendOf(objectId: string, stripe: number, block: number): Promise<string | null> {
    const m: Manifest | undefined = await this.options.store.options.manifests.get(objectId)
    return m?.stripes[stripe]?.blocks[block]?.backend ?? null
  }

  #count(kind: string, outcome: string): void {
    const t = (this.#totals[kind] ??= {})
    t[outcome] = (t[outcome] ?? 0) + 1
  }

  #emit(partial: Omit<DurabilityEvent, 'atMs'>): void {
    const event: DurabilityEvent = { atMs: this.options.clock.now(), ...partial }
    if (event.outcome !== 'observed' || event.action !== 'fault') this.#count(event.action, event.outcome)
    else this.#count('fault', event.reason)
    this.#recent.push(event)
    const log = this.options.logger
    if (event.outcome === 'failed') log.warn(event, 'durability action')
    else if (event.outcome === 'skipped') log.debug(event, 'durability action')
    else log.info(event, 'durability action')
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch (err) {
        log.error({ err }, 'durability event listener threw')
      }
    }
  }
}


