import type { Lock, RequestRelease } from '@tus/utils'
import { ClusterError } from './errors.js'
import type { Fence } from './fence.js'

/** One grant of a lock to this process, as the locker tracks it. Internal. */
export interface Holding {
  readonly fence: Fence
  readonly requestRelease: RequestRelease
  readonly timer: NodeJS.Timeout
  /** Local time the last successful renewal was sent: the lease runs at least until then + leaseMs. */
  renewedAt: number
  asked: boolean
  lost: boolean
  renewing: boolean
}

/** What a `RedisLock` asks its locker to do. Internal. */
export interface LockCore {
  acquire(signal: AbortSignal, requestRelease: RequestRelease): Promise<Holding>
  release(holding: Holding): Promise<void>
  assertHeld(holding: Holding): Promise<Fence>
}

/** One request's handle on an id's lock (what `RedisLocker.newLock` returns). */
export class RedisLock implements Lock {
  #holding: Holding | undefined

  /** @internal Use `RedisLocker.newLock`. */
  constructor(
    readonly id: string,
    private readonly core: LockCore,
  ) {}

  /**
   * Resolves once this request holds the lock; asks the current holder to release it. Rejects
   * with `signal.reason` when the signal aborts first.
   * @throws ClusterError `CLUSTER_ERR_UNAVAILABLE`, `CLUSTER_ERR_CLOSED` (as rejections).
   */
  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    this.#holding = await this.core.acquire(signal, requestRelease)
  }

  /** Frees the lock (and wakes the waiters of other processes). Harmless when not held. Never rejects. */
  async unlock(): Promise<void> {
    const holding = this.#holding
    if (!holding) return
    this.#holding = undefined
    await this.core.release(holding)
  }

  /** The fence of this lock while held (see `Fence`). */
  get fence(): Fence | undefined {
    return this.#holding?.fence
  }

  /**
   * Checks with Redis that the lease is still this lock's, and extends it.
   * @throws ClusterError `CLUSTER_ERR_LOCK_LOST`, `CLUSTER_ERR_UNAVAILABLE`.
   */
  async assertHeld(): Promise<Fence> {
    if (!this.#holding) throw new ClusterError('CLUSTER_ERR_LOCK_LOST', `lock ${JSON.stringify(this.id)} is not held`)
    return this.core.assertHeld(this.#holding)
  }
}
