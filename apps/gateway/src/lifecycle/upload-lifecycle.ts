import { AsyncLocalStorage } from 'node:async_hooks'
import type { UploadMetadata } from '@tessera/protocol'
import type { NextFunction, Request, Response } from 'express'
import { LruMap } from '../reconciliation/lru-map.js'
import type { GoneReason, UploadRecord } from '../upload-record.js'

/** Finished uploads remembered so that `finished` is reported once each (an empty PATCH on a finished upload writes it again). */
const FINISHED_REMEMBERED = 10_000

/**
 * What happened to an upload, as the tus handlers saw it once its record was saved. Metrics and
 * hooks subscribe to these; no handler calls them directly.
 *
 * - `created`: the record of a new upload (a final concatenation too) was saved; `offset` 0, or
 *   the final's length.
 * - `received`: one write stored `bytes` at the upload's offset, which is `offset` afterwards
 *   (a PATCH, or a creation-with-upload POST; 0 bytes when the body was empty or stopped at once).
 * - `finished`: the upload reached its length (after its `received`; a final at creation). Once
 *   per upload and process (for the latest 10 000 finished).
 * - `terminated`: the upload was removed: a DELETE (`terminated`), or reconciliation retired a
 *   Tessera attempt (`superseded` by another attempt's win, `rejected` by its digest).
 * - `expired`: the upload's time ran out (`--expire-after`) and it was removed.
 */
export type UploadEvent =
  | { readonly type: 'created'; readonly upload: UploadRecord; readonly offset: number; readonly request?: Request }
  | { readonly type: 'received'; readonly upload: UploadRecord; readonly bytes: number; readonly offset: number; readonly request?: Request }
  | { readonly type: 'finished'; readonly upload: UploadRecord; readonly offset: number; readonly request?: Request }
  | { readonly type: 'terminated'; readonly upload: UploadRecord; readonly reason: Exclude<GoneReason, 'expired'>; readonly request?: Request }
  | { readonly type: 'expired'; readonly upload: UploadRecord; readonly request?: Request }

/** {@link UploadEvent} without the request, which the lifecycle adds itself. */
export type UploadEventInit = UploadEvent extends infer E ? (E extends unknown ? Omit<E, 'request'> : never) : never

/** An upload about to be created: what a `pre-create` hook is asked about. */
export interface UploadDraft {
  /** Declared length, bytes; `undefined` while deferred. For a final, the sum of its partials. */
  readonly length: number | undefined
  readonly metadata: UploadMetadata
  readonly concat?: UploadRecord['concat']
  readonly request: Request
}

/**
 * Decides on an {@link UploadDraft} before anything is stored: resolves the metadata to store
 * (the draft's, or a replacement), or throws a `GatewayError` to refuse the creation.
 */
export type CreationGate = (draft: UploadDraft) => Promise<UploadMetadata>

/**
 * Progress inside one write (a long PATCH): `offset` is the upload's offset plus the bytes read from
 * the body so far — received, not yet committed (a crash may leave HEAD at less).
 */
export interface UploadProgress {
  readonly upload: UploadRecord
  readonly offset: number
  readonly request?: Request
}

/** How long a request waited for an upload's lock, and whether it got it. */
export interface LockWait {
  readonly uploadId: string
  readonly waitedMs: number
  readonly acquired: boolean
}

/**
 * The upload lifecycle event source of one gateway: the tus handlers report to it at the points
 * where a record is saved; metrics and hooks listen. Listeners run synchronously and must not
 * throw (a throwing listener is isolated: the others still run, the request is not failed).
 * With {@link requestScope} mounted, each event carries the request that caused it.
 */
export class UploadLifecycle {
  readonly #listeners = new Set<(event: UploadEvent) => void>()
  readonly #lockListeners = new Set<(wait: LockWait) => void>()
  readonly #progressListeners = new Set<(progress: UploadProgress) => void>()
  readonly #gates: CreationGate[] = []
  readonly #scope = new AsyncLocalStorage<Request>()
  readonly #finished = new LruMap<string, true>(FINISHED_REMEMBERED)

  /** Express middleware: events emitted while a request is handled carry it (`event.request`). */
  readonly requestScope = (req: Request, _res: Response, next: NextFunction): void => {
    this.#scope.run(req, next)
  }

  /** Calls `listener` with every event from now on; resolves a function that stops it. */
  subscribe(listener: (event: UploadEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Calls `listener` after every wait for an upload's lock (taken or given up). */
  onLockWait(listener: (wait: LockWait) => void): () => void {
    this.#lockListeners.add(listener)
    return () => this.#lockListeners.delete(listener)
  }

  /** Calls `listener` after each chunk of a body being written is read ({@link observeBody}). */
  onProgress(listener: (progress: UploadProgress) => void): () => void {
    this.#progressListeners.add(listener)
    return () => this.#progressListeners.delete(listener)
  }

  /**
   * `bytes` unchanged while nobody listens to progress; otherwise the same chunks, each reported to
   * the progress listeners once the store has taken it (the upload at `offset` + the bytes so far).
   */
  observeBody(upload: UploadRecord, offset: number, bytes: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    return this.#progressListeners.size === 0 ? bytes : this.#counted(upload, offset, bytes)
  }

  async *#counted(upload: UploadRecord, offset: number, bytes: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const request = this.#scope.getStore()
    let at = offset
    for await (const chunk of bytes) {
      yield chunk
      at += chunk.length
      this.#notify(this.#progressListeners, { upload, offset: at, ...(request && { request }) })
    }
  }

  /** Adds a gate every creation passes through, after the ones added before. */
  gate(gate: CreationGate): void {
    this.#gates.push(gate)
  }

  /** Reports an event to every listener. */
  emit(init: UploadEventInit): void {
    if (init.type === 'finished') {
      if (this.#finished.get(init.upload.id)) return
      this.#finished.set(init.upload.id, true)
    }
    const request = this.#scope.getStore()
    this.#notify(this.#listeners, (request ? { ...init, request } : init) as UploadEvent)
  }

  /** Reports a lock wait to every lock listener. */
  lockWaited(wait: LockWait): void {
    this.#notify(this.#lockListeners, wait)
  }

  #notify<T>(listeners: ReadonlySet<(value: T) => void>, value: T): void {
    for (const listener of listeners) {
      try {
        listener(value)
      } catch {
        // A listener's bug must not fail the upload it observes; listeners log their own failures.
      }
    }
  }

  /**
   * Runs the creation gates in turn (each sees the metadata the previous one resolved); resolves
   * the metadata to store. Without gates, the draft's own.
   *
   * @throws GatewayError whatever a gate refuses the creation with.
   */
  async beforeCreate(draft: UploadDraft): Promise<UploadMetadata> {
    let metadata = draft.metadata
    for (const gate of this.#gates) metadata = await gate({ ...draft, metadata })
    return metadata
  }
}
