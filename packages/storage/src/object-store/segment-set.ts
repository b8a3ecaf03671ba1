import { randomBytes } from 'node:crypto'
import type { Backend, SegmentBackend, SegmentWriter } from '../backend.js'
import { withDeadline } from './block-io.js'

/**
 * The segments one append packs its blocks into: at most one per backend, created on first use
 * under `<objectId>/<nonce>-s`, blocks placed at offsets reserved in call order (so stripes in
 * flight write disjoint ranges). A failed or abandoned write leaves an unreferenced hole that goes
 * with the segment when the object is deleted.
 */
export class SegmentSet {
  readonly #key: string
  readonly #writers = new Map<string, Promise<SegmentWriter>>()
  readonly #next = new Map<string, number>()
  /** Cancels segment creations still pending when the set is closed (a stalled backend). */
  readonly #closing = new AbortController()

  constructor(objectId: string) {
    this.#key = `${objectId}/${randomBytes(6).toString('base64url')}-s`
  }

  /** Writes a block into the segment of `backend` (which must `supportsSegments`); resolves where it went. */
  async write(backend: SegmentBackend, bytes: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<{ key: string; offset: number }> {
    const offset = this.#next.get(backend.id) ?? 0
    this.#next.set(backend.id, offset + bytes.byteLength)
    let writer = this.#writers.get(backend.id)
    if (!writer) {
      // Its own deadline: a creation that stalls fails this backend for the rest of the append.
      writer = withDeadline(timeoutMs, this.#closing.signal, (s) => backend.createSegment(this.#key, { signal: s }))
      writer.catch(() => undefined)
      this.#writers.set(backend.id, writer)
    }
    await withDeadline(timeoutMs, signal, async (s) => (await writer).write(offset, bytes, { signal: s }))
    return { key: this.#key, offset }
  }

  /** Closes every segment; what was written stays. */
  async close(): Promise<void> {
    this.#closing.abort()
    await Promise.all([...this.#writers.values()].map((w) => w.then((x) => x.close(), () => undefined)))
  }

  /** Deletes every segment of this append (only when none of its blocks was committed). */
  async discard(backends: readonly Backend[]): Promise<void> {
    await this.close()
    const byId = new Map(backends.map((b) => [b.id, b]))
    await Promise.all([...this.#writers.keys()].map((id) => byId.get(id)?.delete(this.#key).catch(() => undefined)))
  }
}
