import { invalidArgument } from '../errors.js'

/** The kinds of background work (`rebalance`: a hot block moved off an overloaded backend). */
export type TaskKind = 'regenerate' | 'migrate' | 'add-parity' | 'drop-parity' | 'scrub' | 'rebalance'

/** JSON values: what a task payload may hold, so a queue can serialise it (Redis, a file). */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json }

/**
 * One unit of background work, as plain data (no closures): a Redis-backed queue stores it as JSON
 * and any worker process can run it.
 */
export interface TaskDescriptor {
  readonly kind: TaskKind
  /** Dedupe key: while a task with this key waits or runs, adding another is a no-op (the higher priority is kept). */
  readonly key: string
  /** Higher runs first; ties run in the order added. Typically P(object loss), or 1 for a known loss. */
  readonly priority: number
  /** Estimated bytes it reads + writes: what the byte budget charges. ≥ 0. */
  readonly bytes: number
  /** Why it was planned (logged with every event). */
  readonly reason: string
  /** What it works on; kind-specific, JSON only. */
  readonly payload: { readonly [key: string]: Json }
}

/** Runs one task; rejecting marks it failed (it is not retried: the planner re-plans). */
export type TaskHandler = (task: TaskDescriptor) => Promise<void>

/** What a queue tells about a finished task. */
export interface TaskOutcome {
  readonly task: TaskDescriptor
  readonly ok: boolean
  readonly error?: unknown
}

/**
 * The port the durability engine schedules work through: priorities, dedupe, a rate limit, pause.
 * {@link InProcessTaskQueue} runs it in one process on p-queue; a Redis-backed (BullMQ) queue
 * implements the same for a cluster of gateways.
 */
export interface TaskQueue {
  /** Sets the function that runs tasks (once, before any task can run). */
  process(handler: TaskHandler): void
  /**
   * Queues a task; resolves false when deduplicated (a task with its key is waiting or running).
   * @throws DurabilityError `DURABILITY_ERR_INVALID_ARGUMENT` (malformed task), `DURABILITY_ERR_CLOSED`.
   */
  add(task: TaskDescriptor): Promise<boolean>
  /** Tasks waiting to start. */
  readonly size: number
  /** Tasks running now. */
  readonly pending: number
  /** Resolves when nothing waits and nothing runs. */
  onIdle(): Promise<void>
  /** Stops starting tasks (running ones finish). */
  pause(): void
  resume(): void
  readonly isPaused: boolean
  /** Stops accepting tasks, drops those waiting, waits for running ones. Idempotent. */
  close(): Promise<void>
  /** Calls `listener` after each task settles. Returns an unsubscribe function. */
  onOutcome(listener: (outcome: TaskOutcome) => void): () => void
}

const KINDS: readonly TaskKind[] = ['regenerate', 'migrate', 'add-parity', 'drop-parity', 'scrub', 'rebalance']

/** Checks a descriptor is well-formed and JSON-serialisable. @throws DurabilityError `DURABILITY_ERR_INVALID_ARGUMENT`. */
export function assertTask(task: TaskDescriptor): void {
  if (typeof task !== 'object' || task === null) throw invalidArgument('task', 'a TaskDescriptor object', task)
  if (!KINDS.includes(task.kind)) throw invalidArgument('task.kind', KINDS.map((k) => `'${k}'`).join(', '), task.kind)
  if (typeof task.key !== 'string' || task.key === '') throw invalidArgument('task.key', 'a non-empty string', task.key)
  if (typeof task.priority !== 'number' || !Number.isFinite(task.priority)) throw invalidArgument('task.priority', 'a finite number', task.priority)
  if (typeof task.bytes !== 'number' || !(task.bytes >= 0) || !Number.isFinite(task.bytes)) throw invalidArgument('task.bytes', 'a number from 0 and up', task.bytes)
  if (typeof task.reason !== 'string') throw invalidArgument('task.reason', 'a string', task.reason)
  if (typeof task.payload !== 'object' || task.payload === null || Array.isArray(task.payload)) throw invalidArgument('task.payload', 'a plain object', task.payload)
  let round: unknown
  try {
    round = JSON.parse(JSON.stringify(task.payload))
  } catch {
    throw invalidArgument('task.payload', 'JSON-serialisable data', task.payload)
  }
  if (JSON.stringify(round) !== JSON.stringify(task.payload) || !isPlainJson(task.payload)) throw invalidArgument('task.payload', 'JSON-serialisable data (no functions, undefined, NaN or class instances)', task.payload)
}

function isPlainJson(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true
  if (typeof v === 'number') return Number.isFinite(v)
  if (Array.isArray(v)) return v.every(isPlainJson)
  if (typeof v === 'object') return Object.getPrototypeOf(v) === Object.prototype && Object.values(v as object).every(isPlainJson)
  return false
}
