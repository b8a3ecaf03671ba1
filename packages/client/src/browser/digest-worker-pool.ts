import { ClientError } from '../errors.js'
import { short } from '../partition.js'
import { DIGEST_WORKER_SOURCE, type DigestJob, type DigestReply } from './digest-worker-source.js'

/** Digest workers a page runs at most; fewer where `navigator.hardwareConcurrency` is lower. */
export const MAX_DIGEST_WORKERS = 4

/** A worker idle this long is ended, ms (an upload's partitions are digested one after another, so its worker stays warm). */
const IDLE_MS = 10_000

interface Pending {
  readonly job: DigestJob
  readonly resolve: (sha256: Uint8Array | undefined) => void
  readonly reject: (err: unknown) => void
}

/**
 * Web Workers that compute SHA-256 of Blob ranges: each job posts the Blob (a handle, structured-cloned
 * without its bytes) and the range; the worker reads the range itself and answers the 32-byte digest,
 * so neither the read nor the hash nor a copy of the bytes touches the page's thread. Workers start on
 * demand, up to `maxWorkers`, one job at a time each (memory: one range per busy worker), and end
 * after {@link IDLE_MS} idle. The worker's script runs from a Blob URL ({@link DIGEST_WORKER_SOURCE}).
 *
 * Where a worker cannot start or run (a Content-Security-Policy without `worker-src blob:`, an engine
 * without Workers in this context), the pool gives up for good: `digest` then resolves undefined,
 * for jobs queued or in flight too, and the caller digests on its own thread.
 */
export class DigestWorkerPool {
  readonly #maxWorkers: number
  /** Idle workers, each with the timer that ends it, in the order they went idle. */
  readonly #idle = new Map<Worker, ReturnType<typeof setTimeout>>()
  readonly #busy = new Map<Worker, Pending>()
  readonly #queue: Pending[] = []
  #url: string | undefined
  #failed = false

  /** @param maxWorkers workers at most, ≥ 1. */
  constructor(maxWorkers: number) {
    this.#maxWorkers = maxWorkers
  }

  /**
   * The SHA-256 of `blob.slice(start, end)`, computed in a worker; undefined when the pool cannot run
   * workers (digest it yourself).
   * @throws ClientError (rejects) `CLIENT_ERR_SOURCE_SHORT` when the Blob has fewer bytes,
   *   `CLIENT_ERR_SOURCE` when it cannot be read (a File changed or removed on disk).
   */
  digest(blob: Blob, start: number, end: number): Promise<Uint8Array | undefined> {
    if (this.#failed) return Promise.resolve(undefined)
    return new Promise((resolve, reject) => {
      this.#queue.push({ job: { blob, start, end }, resolve, reject })
      this.#pump()
    })
  }

  #pump(): void {
    while (this.#queue.length > 0 && !this.#failed) {
      const worker = this.#takeIdle() ?? (this.#busy.size < this.#maxWorkers ? this.#spawn() : undefined)
      if (!worker) return
      const pending = this.#queue.shift()!
      this.#busy.set(worker, pending)
      worker.postMessage(pending.job)
    }
  }

  /** The worker that went idle last (the warmest; the others may retire), its idle timer stopped. */
  #takeIdle(): Worker | undefined {
    const worker = [...this.#idle.keys()].at(-1)
    if (worker) {
      clearTimeout(this.#idle.get(worker))
      this.#idle.delete(worker)
    }
    return worker
  }

  #spawn(): Worker | undefined {
    let worker: Worker
    try {
      this.#url ??= URL.createObjectURL(new Blob([DIGEST_WORKER_SOURCE], { type: 'text/javascript' }))
      worker = new Worker(this.#url, { name: 'tessera-digest' })
    } catch {
      this.#fail() // e.g. a SecurityError: the page's policy forbids the worker
      return undefined
    }
    worker.addEventListener('message', (event: MessageEvent<DigestReply>) => this.#answered(worker, event.data))
    worker.addEventListener('error', () => this.#fail())
    worker.addEventListener('messageerror', () => this.#fail())
    return worker
  }

  #answered(worker: Worker, reply: DigestReply): void {
    const pending = this.#busy.get(worker)
    if (!pending) return
    this.#busy.delete(worker)
    const { start, blob } = pending.job
    if ('sha256' in reply) pending.resolve(new Uint8Array(reply.sha256))
    else if ('got' in reply) pending.reject(short(start + reply.got, blob.size))
    else pending.reject(new ClientError('CLIENT_ERR_SOURCE', `cannot read the file at ${start}: ${reply.error}`))
    this.#idle.set(
      worker,
      setTimeout(() => this.#retire(worker), IDLE_MS),
    )
    this.#pump()
  }

  #retire(worker: Worker): void {
    if (this.#idle.delete(worker)) worker.terminate()
  }

  /** A worker failed to start or run: end them all, hand every job back (undefined), and stay failed. */
  #fail(): void {
    if (this.#failed) return
    this.#failed = true
    for (const timer of this.#idle.values()) clearTimeout(timer)
    for (const worker of [...this.#idle.keys(), ...this.#busy.keys()]) worker.terminate()
    const handedBack = [...this.#busy.values(), ...this.#queue]
    this.#idle.clear()
    this.#busy.clear()
    this.#queue.length = 0
    for (const pending of handedBack) pending.resolve(undefined)
    if (this.#url) URL.revokeObjectURL(this.#url)
  }
}

let shared: DigestWorkerPool | undefined

/**
 * The page's digest pool, shared by all its uploads (min({@link MAX_DIGEST_WORKERS},
 * `navigator.hardwareConcurrency`) workers); undefined where there are no Workers or Blob URLs (Node).
 */
export function sharedDigestWorkerPool(): DigestWorkerPool | undefined {
  if (typeof Worker === 'undefined' || typeof URL.createObjectURL !== 'function') return undefined
  shared ??= new DigestWorkerPool(Math.min(MAX_DIGEST_WORKERS, globalThis.navigator?.hardwareConcurrency || 1))
  return shared
}
