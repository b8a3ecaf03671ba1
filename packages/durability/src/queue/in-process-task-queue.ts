import PQueue from 'p-queue'
import { silentLogger, type Logger } from '@tessera/storage'
import { systemClock, type Clock, type TimerHandle } from '../clock.js'
import { DurabilityError, invalidOption, numberOption } from '../errors.js'
import { assertTask, type TaskDescriptor, type TaskHandler, type TaskOutcome, type TaskQueue } from './task-queue.js'

/** Options of {@link InProcessTaskQueue}. */
export interface InProcessTaskQueueOptions {
  /** Tasks running at once, ≥ 1. Default 2 (background work shares disks and cores with uploads). */
  readonly concurrency?: number
  /** Byte budget: estimated task bytes (reads + writes) per second of the clock, > 0; `Infinity` = none. Default 32 MiB/s. */
  readonly bytesPerSecond?: number
  /** Bytes the budget may bank while idle, > 0. Default one second's worth (64 MiB when the budget is infinite). */
  readonly burstBytes?: number
  /** Task budget: tasks started per `intervalMs`, ≥ 1; `Infinity` = none. Default 100. */
  readonly tasksPerInterval?: number
  /** Length of the task budget's interval, ms. Default 1 000. */
  readonly intervalMs?: number
  /** Clock of the budgets (a simulation's accelerated clock, or the system clock). */
  readonly clock?: Clock
  readonly logger?: Logger
}

/** Defaults of {@link InProcessTaskQueueOptions}. */
export const defaultInProcessTaskQueueOptions = Object.freeze({
  concurrency: 2,
  bytesPerSecond: 32 * 1024 * 1024,
  tasksPerInterval: 100,
  intervalMs: 1000,
})

interface Waiting {
  readonly task: TaskDescriptor
  priority: number
  readonly seq: number
}

/**
 * {@link TaskQueue} in one process: a priority list with dedupe in front of p-queue (which runs
 * at most `concurrency` tasks), and two token buckets on the injected clock — tasks per interval
 * and bytes per second — so background work cannot crowd out uploads. A task larger than the byte
 * burst starts when the bucket is full and leaves it in debt, so the long-run rate holds.
 * Tasks are handed to p-queue only when a slot is free, so a later, higher-priority task still
 * overtakes everything that waits.
 */
export class InProcessTaskQueue implements TaskQueue {
  readonly #pq: PQueue
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #concurrency: number
  readonly #byteRate: number
  readonly #burst: number
  readonly #taskCap: number
  readonly #taskRate: number
  #byteTokens: number
  #taskTokens: number
  #refilledAt: number
  readonly #waiting: Waiting[] = []
  readonly #byKey = new Map<string, Waiting>()
  readonly #running = new Set<string>()
  readonly #listeners = new Set<(o: TaskOutcome) => void>()
  #waiters: { settled: boolean; resolve: () => void }[] = []
  #handler: TaskHandler | undefined
  #timer: TimerHandle | undefined
  #paused = false
  #closed = false
  #seq = 0

  /** @throws DurabilityError `DURABILITY_ERR_INVALID_OPTION`. */
  constructor(options: InProcessTaskQueueOptions = {}) {
    const o = { ...defaultInProcessTaskQueueOptions, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as InProcessTaskQueueOptions & typeof defaultInProcessTaskQueueOptions
    this.#concurrency = numberOption('concurrency', o.concurrency, 1, 1024, true)
    this.#byteRate = numberOption('bytesPerSecond', o.bytesPerSecond, Number.MIN_VALUE) / 1000
    this.#burst = numberOption('burstBytes', o.burstBytes ?? (Number.isFinite(o.bytesPerSecond) ? o.bytesPerSecond : 64 * 1024 * 1024), Number.MIN_VALUE, Number.MAX_VALUE)
    this.#taskCap = numberOption('tasksPerInterval', o.tasksPerInterval, 1)
    const interval = numberOption('intervalMs', o.intervalMs, Number.MIN_VALUE, Number.MAX_VALUE)
    this.#taskRate = this.#taskCap / interval
    this.#clock = o.clock ?? systemClock
    if (typeof this.#clock.now !== 'function') throw invalidOption('clock', 'a Clock', this.#clock)
    this.#logger = o.logger ?? silentLogger
    this.#byteTokens = this.#burst
    this.#taskTokens = Number.isFinite(this.#taskCap) ? this.#taskCap : Infinity
    this.#refilledAt = this.#clock.now()
    this.#pq = new PQueue({ concurrency: this.#concurrency })
  }

  process(handler: TaskHandler): void {
    if (typeof handler !== 'function') throw invalidOption('handler', 'a function', handler)
    if (this.#handler) throw new DurabilityError('DURABILITY_ERR_INVALID_ARGUMENT', 'a handler is already set')
    this.#handler = handler
    this.#pump()
  }

  async add(task: TaskDescriptor): Promise<boolean> {
    if (this.#closed) throw new DurabilityError('DURABILITY_ERR_CLOSED', 'the task queue is closed')
    assertTask(task)
    if (this.#running.has(task.key)) return false
    const existing = this.#byKey.get(task.key)
    if (existing) {
      if (task.priority > existing.priority) {
        existing.priority = task.priority
        this.#sort()
      }
      return false
    }
    const entry: Waiting = { task: structuredClone(task), priority: task.priority, seq: this.#seq++ }
    this.#waiting.push(entry)
    this.#byKey.set(task.key, entry)
    this.#sort()
    this.#pump()
    return true
  }

  get size(): number {
    return this.#waiting.length
  }

  get pending(): number {
    return this.#running.size
  }

  get isPaused(): boolean {
    return this.#paused
  }

  /** Descriptors waiting, in the order they would start (a copy). */
  waiting(): TaskDescriptor[] {
    return this.#waiting.map((w) => ({ ...w.task, priority: w.priority }))
  }

  onIdle(): Promise<void> {
    return this.#wait(false)
  }

  /**
   * Resolves when nothing runs and nothing waiting can start before the clock moves on (the queue
   * is empty, paused, or waiting for its budget). What a simulation awaits after each clock step.
   */
  onSettled(): Promise<void> {
    return this.#wait(true)
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    this.#pump()
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const w of this.#waiting) this.#byKey.delete(w.task.key)
    this.#waiting.length = 0
    if (this.#timer) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#check()
    await this.#pq.onIdle()
  }

  onOutcome(listener: (outcome: TaskOutcome) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #sort(): void {
    this.#waiting.sort((a, b) => b.priority - a.priority || a.seq - b.seq)
  }

  #refill(): void {
    const now = this.#clock.now()
    const dt = Math.max(0, now - this.#refilledAt)
    this.#refilledAt = now
    if (Number.isFinite(this.#byteRate)) this.#byteTokens = Math.min(this.#burst, this.#byteTokens + dt * this.#byteRate)
    if (Number.isFinite(this.#taskCap)) this.#taskTokens = Math.min(this.#taskCap, this.#taskTokens + dt * this.#taskRate)
  }

  /** 0 when `task` may start now (and charges it), else ms until it may. */
  #take(task: TaskDescriptor): number {
    this.#refill()
    const needBytes = Number.isFinite(this.#byteRate) ? Math.min(task.bytes, this.#burst) : 0
    const byteWait = Number.isFinite(this.#byteRate) && this.#byteTokens < needBytes ? (needBytes - this.#byteTokens) / this.#byteRate : 0
    const taskWait = Number.isFinite(this.#taskCap) && this.#taskTokens < 1 ? (1 - this.#taskTokens) / this.#taskRate : 0
    const wait = Math.max(byteWait, taskWait)
    if (wait > 0) return Math.max(1, Math.ceil(wait))
    if (Number.isFinite(this.#byteRate)) this.#byteTokens -= task.bytes
    if (Number.isFinite(this.#taskCap)) this.#taskTokens -= 1
    return 0
  }

  #pump(): void {
    if (this.#paused || this.#closed || !this.#handler) return this.#check()
    while (this.#waiting.length > 0 && this.#running.size < this.#concurrency) {
      const head = this.#waiting[0]!
      const wait = this.#take(head.task)
      if (wait > 0) {
        if (!this.#timer) {
          this.#timer = this.#clock.setTimeout(async () => {
            this.#timer = undefined
            this.#pump()
            await this.onSettled()
          }, wait)
        }
        break
      }
      this.#waiting.shift()
      this.#byKey.delete(head.task.key)
      this.#running.add(head.task.key)
      const task = { ...head.task, priority: head.priority }
      void this.#pq.add(() => this.#run(task))
    }
    this.#check()
  }

  async #run(task: TaskDescriptor): Promise<void> {
    let outcome: TaskOutcome
    try {
      await this.#handler!(task)
      outcome = { task, ok: true }
    } catch (error) {
      outcome = { task, ok: false, error }
      this.#logger.warn({ kind: task.kind, key: task.key, code: (error as { code?: string }).code, err: error }, 'background task failed')
    }
    this.#running.delete(task.key)
    for (const listener of this.#listeners) {
      try {
        listener(outcome)
      } catch (err) {
        this.#logger.error({ err }, 'task outcome listener threw')
      }
    }
    this.#pump()
  }

  #wait(settled: boolean): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push({ settled, resolve })
      this.#check()
    })
  }

  #check(): void {
    if (this.#running.size > 0) return
    const idle = this.#waiting.length === 0
    const stuck = idle || this.#paused || this.#closed || !this.#handler || this.#timer !== undefined
    const keep: { settled: boolean; resolve: () => void }[] = []
    for (const w of this.#waiters) {
      if (idle || (w.settled && stuck)) w.resolve()
      else keep.push(w)
    }
    this.#waiters = keep
  }
}
