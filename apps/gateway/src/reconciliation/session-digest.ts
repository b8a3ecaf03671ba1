import { createHash, type Hash } from 'node:crypto'
import type { BlockFault, Logger, ObjectStore } from '@tessera/storage'
import { LruMap } from './lru-map.js'

/** Sessions whose running digest is kept, at most; an evicted one falls back to the final's full read. */
const KEPT_SESSIONS = 256

/** A partition winner as the whole-file digest needs it. */
export interface WonPartition {
  /** The upload id of the winning attempt. */
  readonly id: string
  /** `tessera-partition`, `<session>/<index>`, within its owner's namespace (`partitionScope`): sessions of different owners never mix. */
  readonly partition: string
  /** `tessera-offset`: where the partition starts in the file. */
  readonly offset: number
  readonly length: number
}

/**
 * The running whole-file SHA-256 of each upload session (the `<session>` part of
 * `tessera-partition`), advanced in file order in the background: when the partition that starts
 * where the digest ends wins, its bytes are read back from the store and hashed, then the next one's
 * if it already won, and so on. By the time the client sends its final, the digest covers all but
 * the last partitions to win, so verifying the final costs a short wait instead of one full read of
 * the file after the upload (docs/reconciliation.md, "Cost of whole-file verification").
 *
 * Memory only: after a restart, an eviction, or a read that failed, {@link digestOf} answers
 * undefined and the caller reads the whole file as before — never a wrong digest.
 */
export class SessionDigests {
  readonly #sessions = new LruMap<string, SessionDigest>(KEPT_SESSIONS)

  constructor(
    private readonly store: ObjectStore,
    private readonly log: Logger,
    /** Told of blocks the reads had to read around (durability). */
    private readonly onFault?: (fault: BlockFault) => void,
  ) {}

  /** A partition's winner was decided. */
  won(w: WonPartition): void {
    const session = sessionOf(w.partition)
    const s = this.#sessions.get(session) ?? new SessionDigest(this.store, this.log, session, this.onFault)
    this.#sessions.set(session, s)?.stop()
    s.add(w)
  }

  /**
   * The base64 SHA-256 of `parts` concatenated in order, when the running digest of their session
   * covers exactly them (waits for it to catch up); undefined when it does not (the caller reads
   * the file). The session is forgotten either way: a final is made once.
   */
  async digestOf(parts: readonly WonPartition[], signal: AbortSignal): Promise<string | undefined> {
    const first = parts[0]
    if (!first) return undefined
    const session = sessionOf(first.partition)
    const s = this.#sessions.get(session)
    if (!s) return undefined
    this.#sessions.delete(session)
    return s.digestOf(parts, signal)
  }
}

class SessionDigest {
  readonly #hash: Hash = createHash('sha256')
  /** Winners hashed, in file order. */
  readonly #chain: string[] = []
  /** Winners not hashed yet, by offset. */
  readonly #waiting = new Map<number, WonPartition>()
  readonly #stop = new AbortController()
  #covered = 0
  /** Stopped: no more reads (evicted, or its final came). */
  #stopped = false
  /** A read failed mid-partition: the hash covers bytes past the chain and is useless. */
  #failed = false
  #running: Promise<void> | undefined

  constructor(
    private readonly store: ObjectStore,
    private readonly log: Logger,
    private readonly session: string,
    private readonly onFault?: (fault: BlockFault) => void,
  ) {}

  add(w: WonPartition): void {
    if (this.#stopped || this.#failed || w.offset < this.#covered) return
    this.#waiting.set(w.offset, w)
    this.#running ??= this.#advance().finally(() => (this.#running = undefined))
  }

  stop(): void {
    this.#stopped = true
    this.#stop.abort()
  }

  async digestOf(parts: readonly WonPartition[], signal: AbortSignal): Promise<string | undefined> {
    const caughtUp = async (): Promise<void> => {
      while (this.#running) await this.#running
    }
    try {
      await Promise.race([caughtUp(), abortion(signal)])
    } finally {
      this.stop()
    }
    // Caught up, so no read is half done: the hash covers exactly the chain, unless one failed.
    if (this.#failed) return undefined
    const total = parts.reduce((sum, p) => sum + p.length, 0)
    const same = parts.length === this.#chain.length && parts.every((p, i) => p.id === this.#chain[i])
    return same && this.#covered === total ? this.#hash.digest('base64') : undefined
  }

  async #advance(): Promise<void> {
    for (let next = this.#waiting.get(this.#covered); next && !this.#stopped; next = this.#waiting.get(this.#covered)) {
      this.#waiting.delete(next.offset)
      let hashed = 0
      try {
        for await (const chunk of await this.store.read(next.id, { signal: this.#stop.signal, ...(this.onFault && { onFault: this.onFault }) })) {
          this.#hash.update(chunk)
          hashed += chunk.length
        }
      } catch (err) {
        this.#failed = true
        if (!this.#stopped) this.log.warn({ session: this.session, uploadId: next.id, err }, 'running whole-file digest stopped; the final will read the file')
        return
      }
      if (hashed !== next.length) {
        this.#failed = true
        this.log.warn({ session: this.session, uploadId: next.id, hashed, length: next.length }, 'a winner read back short; the final will read the file')
        return
      }
      this.#covered += next.length
      this.#chain.push(next.id)
    }
  }
}

function sessionOf(partition: string): string {
  return partition.slice(0, partition.lastIndexOf('/'))
}

function abortion(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}
