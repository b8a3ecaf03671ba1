import { invalidOption } from './errors.js'

/**
 * Proof that this process holds (or held) the lock of `id`: the lease value Redis keeps under
 * `lockKey` while the lock is ours. A write guarded by a fence runs in a Lua script that first
 * compares `GET lockKey` with `value` — one atomic step on the server, so a holder that was paused
 * past its lease (GC, SIGSTOP, a partition) can never commit over the holder that took over.
 */
export interface Fence {
  /** The locked id (an upload id, or any Locker id). */
  readonly id: string
  /**
   * Fencing token: increases with every grant of `id`'s lock, across processes and restarts
   * (`max(last + 1, Redis time in ms)`), so a newer holder always has the larger token.
   */
  readonly token: number
  /** Redis key of the lease; carries `{id}` as hash tag, so it shares a slot with `id`'s data. */
  readonly lockKey: string
  /** The lease's value while this holder owns it: `<token>/<owner>`. */
  readonly value: string
}

/**
 * Where a store asks whether a write to `id` must be fenced: the `RedisLocker` of this process
 * answers with the fence of the lock it holds on `id`, or `undefined` (no lock here: the write is
 * not fenced, and relies on the store's own version checks).
 */
export interface FenceLookup {
  fenceOf(id: string): Fence | undefined
}

/** The optional `fencing` option of the stores. Internal. @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`. */
export function fencingOption(fencing: unknown): FenceLookup | undefined {
  if (fencing !== undefined && typeof (fencing as Partial<FenceLookup> | null)?.fenceOf !== 'function') throw invalidOption('fencing', 'a FenceLookup (a RedisLocker)', fencing)
  return fencing as FenceLookup | undefined
}
