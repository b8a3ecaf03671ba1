import { randomUUID } from 'node:crypto'
import type { RequestRelease } from '@tus/utils'
import { ClusterError, redisError } from './errors.js'
import type { Fence, FenceLookup } from './fence.js'
import type { InspectableLocker } from './inspectable-locker.js'
import { acquireScript, releaseScript, renewScript } from './lock-scripts.js'
import type { RedisConnection } from './redis-connection.js'
import { RedisLock, type Holding } from './redis-lock.js'
import { resolveRedisLockerOptions, type RedisLockerOptions, type ResolvedRedisLockerOptions } from './redis-locker-options.js'

interface Waiter {
  readonly requestRelease: RequestRelease
  readonly grant: (holding: Holding) => void
  readonly fail: (err: unknown) => void
}

/** This process's state for one id: its holder (if here), its FIFO of local waiters. */
interface Entry {
  holder: Holding | undefined
  readonly waiters: Waiter[]
  /** A loop is trying to take the Redis lease for the head waiter. */
  contending: boolean
  /** An unlock's release is in flight: the next waiter starts after it. */
  releasing: boolean
  /** Wakes the contending loop early (freed message, last waiter gone, close). */
  wake: (() => void) | undefined
}

interface AcquireReply {
  readonly ok: boolean
  readonly value: string
  readonly pttl: number
}

/**
 * @tus/utils' `Locker` over Redis, for gateways sharing uploads. Each lock is a lease (`SET NX PX`)
 * renewed while held, with a fencing token that grows with every grant (see {@link Fence}).
 *
 * - **Waiting** costs no polling loop: waiters of one process queue FIFO in memory and only the
 *   head talks to Redis; it subscribes to the id's freed channel and otherwise sleeps until the
 *   holder's lease would lapse — one attempt per lease at most while the holder is alive.
 * - **Release on request**, as tus expects: a waiter asks the holder once per holder, locally or
 *   through the holder's owner channel (pub/sub) when it is another process; the holder's
 *   `RequestRelease` is called once.
 * - **Lost lease**: a renewal that finds the lease gone or taken over (or cannot reach Redis for a
 *   whole lease) asks the holder to release; writes fenced with {@link fenceOf} are refused from then on.
 * - A gateway that dies holding a lock blocks others at most one lease.
 *
 * Across processes the order of waiters is not FIFO: whoever's attempt follows the unlock wins.
 */
export class RedisLocker implements InspectableLocker, FenceLookup {
  /** Identifies this locker (this process) in lease values and its owner channel. */
  readonly owner = randomUUID()
  readonly connection: RedisConnection
  readonly #entries = new Map<string, Entry>()
  readonly #o: ResolvedRedisLockerOptions
  #unsubscribe: (() => Promise<void>) | undefined
  #closed = false

  private constructor(options: ResolvedRedisLockerOptions) {
    this.#o = options
    this.connection = options.connection
  }

  /**
   * Subscribes to this locker's owner channel (release requests from other processes).
   * @throws ClusterError `CLUSTER_ERR_INVALID_OPTION`, `CLUSTER_ERR_UNAVAILABLE`.
   */
  static async open(options: RedisLockerOptions): Promise<RedisLocker> {
    const locker = new RedisLocker(resolveRedisLockerOptions(options))
    locker.#unsubscribe = await locker.connection.subscribe(locker.connection.keys.ownerChannel(locker.owner), (m) => locker.#onReleaseRequest(m))
    return locker
  }

  /** Whether any process holds `id`'s lock now (its lease key exists: a dead holder's until it lapses). */
  async isLocked(id: string): Promise<boolean> {
    const { client, keys } = this.connection
    try {
      return (await client.exists(keys.lock(id))) === 1
    } catch (err) {
      throw redisError(err, 'EXISTS')
    }
  }

  /** A handle on `id`'s lock for one request (no I/O until its `lock`); any string is an id. */
  newLock(id: string): RedisLock {
    return new RedisLock(id, {
      acquire: (signal, requestRelease) => this.#lock(id, signal, requestRelease),
      release: (holding) => this.#unlock(id, holding),
      assertHeld: (holding) => this.#assertHolding(holding),
    })
  }

  /** Ids this process holds a lock on. */
  get held(): number {
    let n = 0
    for (const entry of this.#entries.values()) if (entry.holder) n++
    return n
  }

  /**
   * The fence of the lock this process holds on `id` — also after its lease was lost, so a fenced
   * write fails rather than going unfenced — or `undefined` when it holds none.
   */
  fenceOf(id: string): Fence | undefined {
    return this.#entries.get(id)?.holder?.fence
  }

  /**
   * Checks with Redis that this process still holds `id`'s lock (and extends the lease): what the
   * gateway calls before a commit that is not itself fenced.
   * @throws ClusterError `CLUSTER_ERR_LOCK_LOST` (not held here, lapsed or taken over), `CLUSTER_ERR_UNAVAILABLE`.
   */
  async assertHeld(id: string): Promise<Fence> {
    const holding = this.#entries.get(id)?.holder
    if (!holding) throw new ClusterError('CLUSTER_ERR_LOCK_LOST', `this process holds no lock on ${JSON.stringify(id)}`)
    return this.#assertHolding(holding)
  }

  /**
   * Rejects every waiter `CLUSTER_ERR_CLOSED`, frees every lease this process holds (a request
   * still running under one can no longer commit a fenced write) and stops listening. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const releases: Promise<void>[] = []
    for (const [id, entry] of this.#entries) {
      const closed = new ClusterError('CLUSTER_ERR_CLOSED', 'the locker is closed')
      for (const w of entry.waiters.splice(0)) w.fail(closed)
      entry.wake?.()
      if (entry.holder) {
        clearInterval(entry.holder.timer)
        releases.push(this.#releaseLease(id, entry.holder.fence))
      }
    }
    await Promise.all(releases)
    await this.#unsubscribe?.()
  }

  #lock(id: string, signal: AbortSignal, requestRelease: RequestRelease): Promise<Holding> {
    // Rejections, not throws: callers may chain on the promise.
    if (this.#closed) return Promise.reject(new ClusterError('CLUSTER_ERR_CLOSED', 'the locker is closed'))
    if (signal.aborted) return Promise.reject(signal.reason as Error)
    let entry = this.#entries.get(id)
    if (!entry) this.#entries.set(id, (entry = { holder: undefined, waiters: [], contending: false, releasing: false, wake: undefined }))
    const e = entry
    return new Promise<Holding>((resolve, reject) => {
      const onAbort = (): void => {
        const i = e.waiters.indexOf(waiter)
        if (i < 0) return
        e.waiters.splice(i, 1)
        reject(signal.reason)
        if (e.waiters.length === 0) e.wake?.()
        this.#forget(id, e)
      }
      const waiter: Waiter = {
        requestRelease,
        grant: (holding) => {
          signal.removeEventListener('abort', onAbort)
          resolve(holding)
        },
        fail: (err) => {
          signal.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      signal.addEventListener('abort', onAbort, { once: true })
      e.waiters.push(waiter)
      if (e.holder) this.#ask(e.holder)
      else if (!e.contending && !e.releasing) void this.#contend(id, e)
    })
  }

  /** Takes the Redis lease for the head waiter, waiting on the freed channel and the lease's PTTL. */
  async #contend(id: string, entry: Entry): Promise<void> {
    const keys = this.connection.keys
    entry.contending = true
    let unsubscribe: (() => Promise<void>) | undefined
    let asked: string | undefined
    let woken = false
    try {
      while (entry.waiters.length > 0 && !this.#closed) {
        woken = false
        const startedAt = Date.now()
        let reply: AcquireReply
        try {
          reply = await this.#acquire(id)
        } catch (err) {
          return this.#failAll(entry, err)
        }
        if (reply.ok) return await this.#grant(id, entry, reply.value, startedAt)
        if (ownerOf(reply.value) === this.owner) {
          // Ours, yet nobody here holds it: an attempt that timed out but reached Redis, or an
          // unlock that could not. Free it rather than wait out the lease.
          await this.#releaseLease(id, { id, token: 0, lockKey: keys.lock(id), value: reply.value })
          continue
        }
        if (!unsubscribe) {
          // Subscribed first, then tried again: an unlock between the two attempts is not missed.
          try {
            unsubscribe = await this.connection.subscribe(keys.freedChannel(id), () => {
              woken = true
              entry.wake?.()
            })
          } catch (err) {
            return this.#failAll(entry, err)
          }
          continue
        }
        if (reply.value !== asked) {
          asked = reply.value
          this.#askRemote(id, reply.value)
        }
        if (!woken) await this.#sleep(entry, reply.pttl > 0 ? Math.min(reply.pttl, this.#o.leaseMs) + 2 : this.#o.leaseMs)
      }
    } finally {
      entry.contending = false
      entry.wake = undefined
      void unsubscribe?.()
      // Waiters that queued while a lease given up by aborted waiters was being freed.
      if (entry.waiters.length > 0 && !entry.holder && !entry.releasing && !this.#closed) void this.#contend(id, entry)
      else this.#forget(id, entry)
    }
  }

  async #acquire(id: string): Promise<AcquireReply> {
    const { client, keys } = this.connection
    const o = this.#o
    const [ok, value, pttl] = (await acquireScript.run(client, [keys.lock(id), keys.fence(id), keys.waiting(id)], [this.owner, o.leaseMs, o.fenceTtlMs, 2 * o.leaseMs])) as [number, string, number]
    return { ok: ok === 1, value, pttl }
  }

  async #grant(id: string, entry: Entry, value: string, startedAt: number): Promise<void> {
    const head = this.#closed ? undefined : entry.waiters.shift()
    const fence: Fence = { id, token: Number(value.slice(0, value.indexOf('/'))), lockKey: this.connection.keys.lock(id), value }
    if (!head) {
      // Every waiter gave up while the attempt was in flight.
      await this.#releaseLease(id, fence)
      return
    }
    const holding: Holding = {
      fence,
      requestRelease: head.requestRelease,
      timer: setInterval(() => void this.#renew(holding), this.#o.renewIntervalMs),
      renewedAt: startedAt,
      asked: false,
      lost: false,
      renewing: false,
    }
    holding.timer.unref()
    entry.holder = holding
    head.grant(holding)
    // The next holder is asked to hurry too if others already queue behind it.
    if (entry.waiters.length > 0) this.#ask(holding)
  }

  async #unlock(id: string, holding: Holding): Promise<void> {
    clearInterval(holding.timer)
    const entry = this.#entries.get(id)
    if (!entry || entry.holder !== holding) return
    entry.holder = undefined
    entry.releasing = true
    await this.#releaseLease(id, holding.fence)
    entry.releasing = false
    if (entry.waiters.length > 0 && !entry.contending && !this.#closed) void this.#contend(id, entry)
    else this.#forget(id, entry)
  }

  async #releaseLease(id: string, fence: Fence): Promise<void> {
    const { client, keys } = this.connection
    try {
      await releaseScript.run(client, [fence.lockKey, keys.waiting(id)], [fence.value, keys.freedChannel(id)])
    } catch (err) {
      // The lease lapses on its own within leaseMs; unlock must not mask the caller's own outcome.
      this.#o.logger.warn({ err, lockId: id }, 'lock release failed; the lease will lapse')
    }
  }

  async #renew(holding: Holding): Promise<void> {
    if (holding.renewing || holding.lost) return
    holding.renewing = true
    const startedAt = Date.now()
    try {
      if (await this.#extend(holding)) holding.renewedAt = startedAt
      else this.#lose(holding, 'taken over or lapsed')
    } catch (err) {
      if (Date.now() - holding.renewedAt >= this.#o.leaseMs) this.#lose(holding, 'redis unreachable for a whole lease')
      else this.#o.logger.warn({ err, lockId: holding.fence.id }, 'lock renewal failed; retrying')
    } finally {
      holding.renewing = false
    }
  }

  async #extend(holding: Holding): Promise<boolean> {
    return (await renewScript.run(this.connection.client, [holding.fence.lockKey], [holding.fence.value, this.#o.leaseMs])) === 1
  }

  async #assertHolding(holding: Holding): Promise<Fence> {
    const lost = (): ClusterError => new ClusterError('CLUSTER_ERR_LOCK_LOST', `the lock on ${JSON.stringify(holding.fence.id)} was lost (lease lapsed or taken over)`)
    if (holding.lost) throw lost()
    const startedAt = Date.now()
    if (!(await this.#extend(holding))) {
      this.#lose(holding, 'taken over or lapsed')
      throw lost()
    }
    holding.renewedAt = startedAt
    return holding.fence
  }

  #lose(holding: Holding, why: string): void {
    if (holding.lost) return
    holding.lost = true
    clearInterval(holding.timer)
    this.#o.logger.warn({ lockId: holding.fence.id, token: holding.fence.token, why }, 'lock lease lost; asking the holder to stop')
    this.#ask(holding)
  }

  /** Asks the holder to release, once per holder, after the current tick; its failure is its own. */
  #ask(holding: Holding): void {
    if (holding.asked) return
    holding.asked = true
    void Promise.resolve()
      .then(() => holding.requestRelease())
      .catch(() => undefined)
  }

  /** Publishes a release request to the process holding `value` (best effort: the lease bounds the wait anyway). */
  #askRemote(id: string, value: string): void {
    const owner = ownerOf(value)
    const { client, keys } = this.connection
    client.publish(keys.ownerChannel(owner), JSON.stringify({ id, value })).catch((err: unknown) => {
      this.#o.logger.warn({ err: redisError(err, 'PUBLISH'), lockId: id }, 'could not ask the lock holder to release')
    })
  }

  #onReleaseRequest(message: string): void {
    let request: { id?: unknown; value?: unknown }
    try {
      request = JSON.parse(message) as typeof request
    } catch {
      return
    }
    if (typeof request.id !== 'string') return
    const holder = this.#entries.get(request.id)?.holder
    if (holder && holder.fence.value === request.value) this.#ask(holder)
  }

  #failAll(entry: Entry, err: unknown): void {
    const error = redisError(err, 'lock')
    for (const w of entry.waiters.splice(0)) w.fail(error)
  }

  #sleep(entry: Entry, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        entry.wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      timer.unref()
      entry.wake = done
    })
  }

  #forget(id: string, entry: Entry): void {
    if (!entry.holder && !entry.contending && !entry.releasing && entry.waiters.length === 0 && this.#entries.get(id) === entry) this.#entries.delete(id)
  }
}

/** The owner part of a lease value `<token>/<owner>`. */
function ownerOf(value: string): string {
  return value.slice(value.indexOf('/') + 1)
}
