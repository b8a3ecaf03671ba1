import type { PriorityEntry } from '@tessera/predict'
import { ScrubLedger, type BlockFault, type Manifest } from '@tessera/storage'
import { every } from '../clock.js'
import { DurabilityError, invalidArgument } from '../errors.js'
import { runAs } from '../health/io-context.js'
import { InProcessTaskQueue } from '../queue/in-process-task-queue.js'
import type { TaskDescriptor, TaskQueue } from '../queue/task-queue.js'
import { RiskTracker } from '../risk/risk-tracker.js'
import type { DurabilityEvent } from './durability-event.js'
import { resolveDurabilityOptions, type DurabilityOptions, type DurabilityPolicy, type ResolvedDurabilityOptions } from './durability-options.js'
import type { DurabilityStatus, EvaluationReport, RebalanceReport } from './durability-status.js'
import { BackendChoice } from './backend-choice.js'
import { PRIORITY, planPredictive, regenerateTask, type IndexedObject } from './plan.js'
import { RingSeries } from '../health/health-series.js'
import { RebalanceLog, type RebalanceStatus } from './rebalance-log.js'
import { assertLoadReport, blockKey, imbalanceOf, meanBusy, planRebalance, type LoadReport } from './rebalance-plan.js'
import { executeTask, type TaskContext } from './task-handlers.js'

const FAULT_KINDS = new Set(['missing', 'unreadable', 'corrupt'])
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
  readonly #choice: BackendChoice
  #index = new Map<string, IndexedObject>()
  #priority: PriorityEntry[] = []
  #stops: (() => void)[] = []
  #running = false
  #stopped = false
  #evaluations = 0
  #lastEvaluationMs: number | null = null
  readonly #unsubscribe: () => void
  readonly #rebalancing = new RebalanceLog()
  /** What the task handlers see of the engine. */
  readonly #tasks: TaskContext

  /** @throws DurabilityError `DURABILITY_ERR_INVALID_OPTION`. */
  constructor(options: DurabilityOptions) {
    this.options = resolveDurabilityOptions(options)
    const o = this.options
    this.risk = new RiskTracker({ ...(o.risk && { risk: o.risk }), ...(o.createForecaster && { createForecaster: o.createForecaster }), warmupSamples: o.riskWarmupSamples })
    this.queue = o.queue ?? new InProcessTaskQueue({ clock: o.clock, logger: o.logger })
    this.ledger = o.ledger ?? ScrubLedger.memory()
    this.#recent = new RingSeries(Math.max(1, o.recentActions))
    this.#choice = new BackendChoice(o, this.risk)
    this.#tasks = {
      options: o,
      ledger: this.ledger,
      emit: (partial) => this.#emit(partial),
      targets: () => this.#choice.targets(),
      avoid: () => this.#choice.avoid(),
      indexed: (objectId) => this.#index.get(objectId),
      queueFaults: (objectId, stripe, faults, reason) => this.#queueFaults(objectId, stripe, faults, reason),
    }
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
    const risks = this.#choice.risks()
    this.#choice.readCapacity(now)
    this.#index = index
    this.#choice.blocksPerBackend = counts
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
      filling: this.#choice.filling(risks),
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

  /**
   * Load-predictive rebalancing, fed by the read path's forecast (seed 002): when a backend's
   * imbalance score passes `rebalanceThreshold`, its hottest blocks move to the least loaded
   * eligible backends ({@link planRebalance}) — at most `maxRebalanceMoves` per report, each block
   * then left alone for `rebalanceCooldownMs` — as `rebalance` tasks through the same rate-limited
   * queue as repair, below every durability task. Never onto a backend that is down, at risk or
   * short of space. Not under policy `none`.
   * @throws DurabilityError `DURABILITY_ERR_INVALID_ARGUMENT` for a malformed report.
   */
  async rebalance(load: LoadReport): Promise<RebalanceReport> {
    assertLoadReport(load)
    const o = this.options
    const now = o.clock.now()
    const mean = meanBusy(load)
    const maxImbalance = Math.max(0, ...load.backends.map((b) => imbalanceOf(b.busy, mean)))
    this.#rebalancing.round(maxImbalance)
    if (this.#stopped || o.policy === 'none' || o.maxRebalanceMoves === 0 || maxImbalance <= o.rebalanceThreshold) return { atMs: now, maxImbalance, planned: 0, queued: 0 }
    const manifests = new Map<string, Manifest>()
    for (const id of new Set(load.hot.map((h) => h.objectId))) {
      const m = await o.store.options.manifests.get(id)
      if (m && !m.deleted) manifests.set(id, m)
    }
    const { blocks: cooling, receiving } = this.#rebalancing.coolingAt(now)
    const tasks = planRebalance({ load, manifests, ineligible: new Set(this.#choice.avoid()), cooling, receiving, threshold: o.rebalanceThreshold, maxMoves: o.maxRebalanceMoves })
    let queued = 0
    for (const task of tasks) {
      if (!(await this.#add(task))) continue
      queued++
      const { objectId, stripe, block, targets } = task.payload as { objectId: string; stripe: number; block: number; targets: string[] }
      this.#rebalancing.planned(blockKey(objectId, stripe, block), targets[0]!, now + o.rebalanceCooldownMs)
    }
    return { atMs: now, maxImbalance, planned: tasks.length, queued }
  }

  /** What rebalancing did so far (also in {@link status}). */
  rebalanceStatus(): RebalanceStatus {
    const o = this.options
    return this.#rebalancing.status({ threshold: o.rebalanceThreshold, maxMovesPerRound: o.maxRebalanceMoves, cooldownMs: o.rebalanceCooldownMs })
  }

  /** The operator's view (JSON): per-backend health and risk, the priority list's head, the queue, recent actions. */
  status(): DurabilityStatus {
    const o = this.options
    const health = o.health.snapshot()
    const risks = this.#choice.risks()
    return {
      policy: o.policy,
      running: this.#running,
      atMs: o.clock.now(),
      evaluations: this.#evaluations,
      lastEvaluationMs: this.#lastEvaluationMs,
      objects: this.#index.size,
      backends: health.backends.map(({ series: _s, ...b }) => ({ ...b, risk: risks.get(b.backend)!, blocks: this.#choice.blocksPerBackend.get(b.backend) ?? 0 })),
      priority: this.#priority.slice(0, o.statusTopN).map((e) => ({ ...e, parityBlocks: Math.max(0, ...(this.#index.get(e.objectId)?.manifest.stripes.map((s) => s.parityBlocks) ?? [0])) })),
      queue: { waiting: this.queue.size, running: this.queue.pending, paused: this.queue.isPaused },
      totals: structuredClone(this.#totals),
      io: health.io,
      recent: this.#recent.toArray(),
      rebalancing: this.rebalanceStatus(),
    }
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
      await this.#add(regenerateTask(objectId, stripeIndex, stripe, blocks, reason, p, this.options.policy === 'predictive' ? this.#choice.avoid() : []))
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
      runAs(task.kind, () => executeTask(task, this.#tasks)).then(
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

  #count(kind: string, outcome: string): void {
    const t = (this.#totals[kind] ??= {})
    t[outcome] = (t[outcome] ?? 0) + 1
  }

  #emit(partial: Omit<DurabilityEvent, 'atMs'>): void {
    const event: DurabilityEvent = { atMs: this.options.clock.now(), ...partial }
    if (event.outcome !== 'observed' || event.action !== 'fault') this.#count(event.action, event.outcome)
    else this.#count('fault', event.reason)
    this.#rebalancing.observe(event)
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


