import { silentLogger, type Logger } from '@tessera/storage'
import { integerOption, invalidOption } from './errors.js'
import { assertName } from './key-layout.js'
import { connectionOption, type RedisConnection } from './redis-connection.js'

/** Options of `BullTaskQueue.open`. Budgets are cluster-wide: give every gateway the same values. */
export interface BullTaskQueueOptions {
  readonly connection: RedisConnection
  /** The cluster's queue, `[A-Za-z0-9_-]{1,64}`: every gateway of a cluster uses the same one. Default `'durability'`. */
  readonly name?: string
  /** Tasks this process runs at once, 1–1024. Default 2. */
  readonly concurrency?: number
  /** Cluster-wide byte budget: estimated task bytes per second, > 0; `Infinity` = none. Default 32 MiB/s. */
  readonly bytesPerSecond?: number
  /** Bytes the budget may bank while idle, > 0. Default one second's worth. */
  readonly burstBytes?: number
  /** Cluster-wide task budget: tasks started per `intervalMs`, ≥ 1; `Infinity` = none. Default 100. */
  readonly tasksPerInterval?: number
  /** Length of the task budget's window, ms ≥ 1. Default 1 000. */
  readonly intervalMs?: number
  /** Task priorities mapped onto BullMQ's integer range (see `toBullPriority`); outside it they clamp. Default 0. */
  readonly minPriority?: number
  /** Upper end of that range, > `minPriority`. Default 8 (the planner's priorities are 0 to 4). */
  readonly maxPriority?: number
  /**
   * A running task's lease, ms ≥ 100 (renewed by BullMQ every half). When the gateway running it
   * dies, another one re-runs it within about this plus `stalledIntervalMs`. Default 30 000.
   */
  readonly lockDurationMs?: number
  /** How often workers look for tasks whose runner died, ms ≥ 100. Default 15 000. */
  readonly stalledIntervalMs?: number
  /** How often `onIdle` re-reads the cluster's counts while awaited, ms ≥ 1 (`size` is refreshed every 10 × that otherwise). Default 200. */
  readonly pollMs?: number
  readonly logger?: Logger
}

/** Defaults of {@link BullTaskQueueOptions}. */
export const defaultBullTaskQueueOptions = Object.freeze({
  name: 'durability',
  concurrency: 2,
  bytesPerSecond: 32 * 1024 * 1024,
  tasksPerInterval: 100,
  intervalMs: 1000,
  minPriority: 0,
  maxPriority: 8,
  lockDurationMs: 30_000,
  stalledIntervalMs: 15_000,
  pollMs: 200,
})

/** {@link BullTaskQueueOptions} validated, defaults applied. Internal. */
export interface ResolvedBullTaskQueueOptions {
  readonly name: string
  readonly concurrency: number
  readonly bytesPerSecond: number
  readonly burstBytes: number
  readonly tasksPerInterval: number
  readonly intervalMs: number
  readonly minPriority: number
  readonly maxPriority: number
  readonly lockDurationMs: number
  readonly stalledIntervalMs: number
  readonly pollMs: number
  readonly logger: Logger
}

/** BullMQ's limiter needs a maximum to honour `Queue.rateLimit`; "no task budget" is this many per window. */
export const UNLIMITED_TASKS = 2 ** 31 - 1

/**
 * Validates `options` and applies the defaults; never mutates the caller's object.
 * @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`.
 */
export function resolveBullTaskQueueOptions(options: BullTaskQueueOptions): ResolvedBullTaskQueueOptions {
  connectionOption(options)
  const d = defaultBullTaskQueueOptions
  const positive = (name: string, value: unknown, allowInfinity: boolean): number => {
    if (typeof value !== 'number' || !(value > 0) || (!allowInfinity && !Number.isFinite(value))) throw invalidOption(name, allowInfinity ? 'a number above 0 (or Infinity)' : 'a finite number above 0', value)
    return value
  }
  const bytesPerSecond = positive('bytesPerSecond', options.bytesPerSecond ?? d.bytesPerSecond, true)
  const tasksPerInterval = options.tasksPerInterval ?? d.tasksPerInterval
  if (tasksPerInterval !== Infinity) integerOption('tasksPerInterval', tasksPerInterval, 1, UNLIMITED_TASKS)
  const minPriority = options.minPriority ?? d.minPriority
  const maxPriority = options.maxPriority ?? d.maxPriority
  if (typeof minPriority !== 'number' || !Number.isFinite(minPriority)) throw invalidOption('minPriority', 'a finite number', minPriority)
  if (typeof maxPriority !== 'number' || !Number.isFinite(maxPriority) || !(maxPriority > minPriority)) throw invalidOption('maxPriority', `a finite number above minPriority (${minPriority})`, maxPriority)
  return {
    name: assertName('name', options.name ?? d.name),
    concurrency: integerOption('concurrency', options.concurrency ?? d.concurrency, 1, 1024),
    bytesPerSecond,
    burstBytes: positive('burstBytes', options.burstBytes ?? (Number.isFinite(bytesPerSecond) ? bytesPerSecond : 1), false),
    tasksPerInterval,
    intervalMs: integerOption('intervalMs', options.intervalMs ?? d.intervalMs, 1),
    minPriority,
    maxPriority,
    lockDurationMs: integerOption('lockDurationMs', options.lockDurationMs ?? d.lockDurationMs, 100),
    stalledIntervalMs: integerOption('stalledIntervalMs', options.stalledIntervalMs ?? d.stalledIntervalMs, 100),
    pollMs: integerOption('pollMs', options.pollMs ?? d.pollMs, 1),
    logger: options.logger ?? silentLogger,
  }
}
