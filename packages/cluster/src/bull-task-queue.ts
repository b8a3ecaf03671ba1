import { randomUUID } from 'node:crypto'
import { Queue, Worker, type Job } from 'bullmq'
import { DurabilityError, assertTask, type TaskDescriptor, type TaskHandler, type TaskOutcome, type TaskQueue } from '@tessera/durability'
import { toBullPriority } from './bull-priority.js'
import { UNLIMITED_TASKS, resolveBullTaskQueueOptions, type BullTaskQueueOptions, type ResolvedBullTaskQueueOptions } from './bull-task-queue-options.js'
import { redisError } from './errors.js'
import { RedisByteBudget } from './redis-byte-budget.js'
import type { RedisConnection } from './redis-connection.js'
import { within } from './within.js'

/** Task counts of the whole cluster's queue. */
export interface BullTaskCounts {
  /** Waiting to start (including those sent back by the byte budget). */
  readonly waiting: number
  /** Running on some gateway (including, until the stalled check, those of a gateway that died). */
  readonly running: number
}

/**
 * The durability `TaskQueue` on BullMQ: one queue per cluster that every gateway adds to and
 * works on, so a task added by a gateway that then died is run by another, and a task whose
 * runner died is re-run after its lease (`lockDurationMs`).
 *
 * - **Priority**: the task's float priority becomes a BullMQ priority (`toBullPriority`); ties
 *   and near-ties run in the order added.
 * - **Dedupe**: BullMQ deduplication on the task key, from add until the task completed or failed
 *   (waiting, sent back, running, stalled). A duplicate with a higher priority raises the waiting
 *   task's priority (and its descriptor's), as the local queue does.
 * - **Byte budget**: a {@link RedisByteBudget} every gateway draws from before running a task;
 *   when it is short the task goes back to the queue, in front of its priority, and the whole
 *   queue is rate-limited (BullMQ `Queue.rateLimit`) for the time the bucket needs — no worker
 *   polls. The refused task reserves the tokens, so tasks behind it cannot slip past it.
 * - **Task budget**: BullMQ's own limiter, `tasksPerInterval` per `intervalMs`, cluster-wide. A
 *   task sent back by the byte budget also counts against it once per attempt.
 *
 * Differences from the in-process queue, all forced by being shared: `pending` counts this
 * gateway's running tasks, `size` the cluster's waiting ones as last read (refreshed after every
 * add and outcome, see `pollMs`); `onIdle` waits for the whole cluster; `onOutcome` reports the
 * tasks this gateway ran; `pause` stops this gateway's worker (`pauseCluster` stops all);
 * `close` leaves waiting tasks in Redis for the other gateways.
 */
export class BullTaskQueue implements TaskQueue {
  readonly #o: ResolvedBullTaskQueueOptions
  readonly #queue: Queue
  readonly #budget: RedisByteBudget | undefined
  readonly #listeners = new Set<(o: TaskOutcome) => void>()
  /** Outcomes of tasks this process ran, until BullMQ confirmed they left the active set (with when they were recorded). */
  readonly #finished = new Map<string, { readonly outcome: TaskOutcome; readonly at: number }>()
  #idleWaiters: (() => void)[] = []
  #worker: Worker | undefined
  #handler: TaskHandler | undefined
  #counts: BullTaskCounts = { waiting: 0, running: 0 }
  #running = 0
  #timer: NodeJS.Timeout | undefined
  #paused = false
  #closed = false

  private constructor(
    readonly connection: RedisConnection,
    options: ResolvedBullTaskQueueOptions,
    queue: Queue,
  ) {
    this.#o = options
    this.#queue = queue
    this.#budget = Number.isFinite(options.bytesPerSecond)
      ? new RedisByteBudget(connection.client, { key: connection.keys.budget(options.name), bytesPerSecond: options.bytesPerSecond, burstBytes: options.burstBytes })
      : undefined
  }

  /**
   * Opens the cluster's queue (no worker yet: `process` starts one).
   * @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`, `CLUSTER_ERR_UNAVAILABLE` (within the connection's connect timeout).
   */
  static async open(options: BullTaskQueueOptions): Promise<BullTaskQueue> {
    const o = resolveBullTaskQueueOptions(options)
    const connection = options.connection
    const queue = new Queue(connection.keys.bullQueue(o.name), {
      connection: connection.redisOptions('queue'),
      prefix: connection.keys.bullPrefix,
    })
    queue.on('error', (err) => o.logger.warn({ err }, 'task queue connection error'))
    const q = new BullTaskQueue(connection, o, queue)
    try {
      await within(queue.waitUntilReady(), connection.options.connectTimeoutMs, 'no answer')
      await q.#refresh()
    } catch (err) {
      await queue.close().catch(() => undefined)
      throw redisError(err, 'opening the task queue')
    }
    q.#schedule()
    return q
  }

  /** Starts this gateway's worker with `handler` (once). A rejecting handler marks the task failed; it is not retried. */
  process(handler: TaskHandler): void {
    if (typeof handler !== 'function') throw new DurabilityError('DURABILITY_ERR_INVALID_OPTION', `Expected \`handler\` to be a function, got ${typeof handler}`)
    if (this.#handler) throw new DurabilityError('DURABILITY_ERR_INVALID_ARGUMENT', 'a handler is already set')
    if (this.#closed) throw new DurabilityError('DURABILITY_ERR_CLOSED', 'the task queue is closed')
    this.#handler = handler
    const o = this.#o
    const worker = new Worker(this.connection.keys.bullQueue(o.name), (job) => this.#run(job), {
      // BullMQ's own reconnect behaviour for its worker: blocking reads outlast any command
      // timeout, and it retries (and re-sends) its own commands.
      connection: { ...this.connection.redisOptions('worker'), commandTimeout: undefined, enableOfflineQueue: true, autoResendUnfulfilledCommands: true, maxRetriesPerRequest: null },
      prefix: this.connection.keys.bullPrefix,
      autorun: false,
      concurrency: o.concurrency,
      limiter: { max: Number.isFinite(o.tasksPerInterval) ? o.tasksPerInterval : UNLIMITED_TASKS, duration: o.intervalMs },
      lockDuration: o.lockDurationMs,
      stalledInterval: o.stalledIntervalMs,
    })
    worker.on('completed', (job: Job) => this.#settle(job.id))
    worker.on('failed', (job: Job | undefined) => this.#settle(job?.id))
    worker.on('error', (err) => o.logger.warn({ err }, 'task queue worker error'))
    this.#worker = worker
    if (!this.#paused) this.#start(worker)
  }

  /**
   * Queues a task for the cluster; resolves false when deduplicated (a task with its key waits or
   * runs somewhere), after raising that task's priority if this one's is higher.
   * @throws DurabilityError `DURABILITY_ERR_INVALID_ARGUMENT`, `DURABILITY_ERR_CLOSED`; ClusterError `CLUSTER_ERR_UNAVAILABLE`.
   */
  async add(task: TaskDescriptor): Promise<boolean> {
    if (this.#closed) throw new DurabilityError('DURABILITY_ERR_CLOSED', 'the task queue is closed')
    assertTask(task)
    const jobId = randomUUID()
    let job: Job
    try {
      job = await this.#queue.add(task.kind, structuredClone(task), {
        jobId,
        priority: this.#priority(task.priority),
        deduplication: { id: task.key },
        attempts: 1,
        removeOnComplete: true,
        removeOnFail: true,
      })
    } catch (err) {
      throw redisError(err, 'adding a task')
    }
    // A deduplicated add answers with the id of the task already there.
    const added = job.id === jobId
    if (!added && job.id) await this.#raise(job.id, task)
    await this.#refresh().catch(() => undefined)
    return added
  }

  /** Tasks waiting in the whole cluster, as last read (see `pollMs`). */
  get size(): number {
    return this.#counts.waiting
  }

  /** Tasks this gateway is running now. */
  get pending(): number {
    return this.#running
  }

  /** Whether this gateway's worker is paused. */
  get isPaused(): boolean {
    return this.#paused
  }

  /** Exact counts of the whole cluster's queue (one round trip). @throws ClusterError `CLUSTER_ERR_UNAVAILABLE`. */
  async counts(): Promise<BullTaskCounts> {
    return this.#refresh()
  }

  /** Resolves when nothing waits or runs anywhere in the cluster (or the queue is closed). */
  onIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve)
      void this.#checkIdle()
      this.#schedule()
    })
  }

  /** Stops this gateway from starting tasks (running ones finish; other gateways carry on). */
  pause(): void {
    if (this.#paused) return
    this.#paused = true
    this.#worker?.pause(true).catch((err: unknown) => this.#o.logger.warn({ err }, 'task queue pause failed'))
  }

  /** Lets this gateway's worker start tasks again (a no-op unless paused). */
  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    if (this.#worker) this.#start(this.#worker)
  }

  /** Stops every gateway's workers from starting tasks (BullMQ's queue-wide pause). @throws ClusterError `CLUSTER_ERR_UNAVAILABLE`. */
  async pauseCluster(): Promise<void> {
    await this.#queue.pause().catch((err: unknown) => Promise.reject(redisError(err, 'pausing the queue')))
  }

  /** Undoes {@link pauseCluster}. @throws ClusterError `CLUSTER_ERR_UNAVAILABLE`. */
  async resumeCluster(): Promise<void> {
    await this.#queue.resume().catch((err: unknown) => Promise.reject(redisError(err, 'resuming the queue')))
  }

  /**
   * Stops accepting tasks and this gateway's worker, waiting for its running tasks. Waiting tasks
   * stay queued for the other gateways. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    for (const resolve of this.#idleWaiters.splice(0)) resolve()
    await this.#worker?.close().catch((err: unknown) => this.#o.logger.warn({ err }, 'task queue worker close failed'))
    await this.#queue.close().catch((err: unknown) => this.#o.logger.warn({ err }, 'task queue close failed'))
  }

  /** Calls `listener` after each task this gateway ran settled (left the queue). Returns an unsubscribe function. */
  onOutcome(listener: (outcome: TaskOutcome) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #priority(priority: number): number {
    return toBullPriority(priority, this.#o.minPriority, this.#o.maxPriority)
  }

  #start(worker: Worker): void {
    // resume() clears BullMQ's paused flag and restarts the main loop if pausing ended it.
    const started = worker.isPaused() ? worker.resume() : worker.isRunning() ? Promise.resolve() : worker.run()
    started.catch((err: unknown) => this.#o.logger.error({ err }, 'task queue worker stopped'))
  }

  /** Raises a waiting duplicate's priority (best effort: it may start, or finish, meanwhile). */
  async #raise(jobId: string, task: TaskDescriptor): Promise<void> {
    try {
      const job = await this.#queue.getJob(jobId)
      const current = job?.data as TaskDescriptor | undefined
      if (!job || !current || !(task.priority > current.priority)) return
      await job.updateData({ ...current, priority: task.priority })
      await job.changePriority({ priority: this.#priority(task.priority) })
    } catch (err) {
      this.#o.logger.debug({ err, key: task.key }, 'could not raise a deduplicated task priority')
    }
  }

  async #run(job: Job): Promise<void> {
    const task = job.data as TaskDescriptor
    if (this.#budget && task.bytes > 0) {
      let wait: number
      try {
        wait = await this.#budget.take(task.bytes, { priority: job.priority, order: job.timestamp })
        if (wait > 0) {
          await this.#queue.rateLimit(wait)
          // BullMQ puts a rate-limited prioritized job back without the marker that wakes workers
          // blocked waiting for jobs; without one they would sleep their whole drainDelay (5 s).
          // The base marker makes them look now, see the rate limit, and come back when it ends.
          await this.connection.client.zadd(this.#queue.keys.marker!, 0, '0')
        }
      } catch (error) {
        this.#record(job.id!, { task, ok: false, error })
        throw redisError(error, 'the byte budget')
      }
      if (wait > 0) throw Worker.RateLimitError()
    }
    this.#running++
    try {
      await this.#handler!(task)
      this.#record(job.id!, { task, ok: true })
    } catch (error) {
      this.#record(job.id!, { task, ok: false, error })
      this.#o.logger.warn({ kind: task.kind, key: task.key, code: (error as { code?: string }).code, err: error }, 'background task failed')
      throw error instanceof Error ? error : new Error(String(error))
    } finally {
      this.#running--
    }
  }

  #record(jobId: string, outcome: TaskOutcome): void {
    this.#finished.set(jobId, { outcome, at: Date.now() })
  }

  #settle(jobId: string | undefined): void {
    const outcome = jobId === undefined ? undefined : this.#finished.get(jobId)?.outcome
    if (outcome === undefined) return
    this.#finished.delete(jobId!)
    for (const listener of this.#listeners) {
      try {
        listener(outcome)
      } catch (err) {
        this.#o.logger.error({ err }, 'task outcome listener threw')
      }
    }
    void this.#checkIdle()
  }

  async #refresh(): Promise<BullTaskCounts> {
    let c: Record<string, number>
    try {
      c = await this.#queue.getJobCounts('wait', 'prioritized', 'delayed', 'active')
    } catch (err) {
      throw redisError(err, 'counting tasks')
    }
    this.#counts = { waiting: (c.wait ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0), running: c.active ?? 0 }
    return this.#counts
  }

  async #checkIdle(): Promise<void> {
    if (this.#idleWaiters.length === 0) return
    let counts: BullTaskCounts
    try {
      counts = await this.#refresh()
    } catch {
      return // Redis is away: the next poll tries again.
    }
    if (counts.waiting === 0 && counts.running === 0 && this.#running === 0 && !this.#settling()) for (const resolve of this.#idleWaiters.splice(0)) resolve()
  }

  /**
   * Whether a task this gateway ran has left Redis' active set but its outcome is not out yet
   * (BullMQ answers the worker's connection after our count read on another). An outcome whose
   * confirmation never came (BullMQ gave up finishing the job; it stalls and runs elsewhere) stops
   * counting after two leases.
   */
  #settling(): boolean {
    const stale = Date.now() - 2 * this.#o.lockDurationMs
    for (const [id, { at }] of this.#finished) {
      if (at >= stale) return true
      this.#finished.delete(id)
    }
    return false
  }

  /** Re-reads the counts: every `pollMs` while someone awaits `onIdle`, every 10 × that otherwise. */
  #schedule(): void {
    if (this.#closed) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(
      () => {
        const done = this.#idleWaiters.length > 0 ? this.#checkIdle() : this.#refresh().then(() => undefined)
        void done.catch(() => undefined).finally(() => this.#schedule())
      },
      this.#idleWaiters.length > 0 ? this.#o.pollMs : 10 * this.#o.pollMs,
    )
    this.#timer.unref()
  }
}
