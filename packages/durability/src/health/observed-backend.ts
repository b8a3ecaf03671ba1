import type { Readable } from 'node:stream'
import { supportsSegments, type Backend, type BackendCallOptions, type BackendCapacity, type BlockBody, type BlockStat, type SegmentWriter } from '@tessera/storage'
import type { OpRecord } from './health-sample.js'
import { currentPurpose, type IoPurpose } from './io-context.js'

/** Where an {@link ObservedBackend} reports. Internal: implemented by `HealthMonitor`. */
export interface OpSink {
  record(backendId: string, op: OpRecord, purpose: IoPurpose): void
  elapsed(): number
}

/**
 * A {@link Backend} that behaves exactly like the one it wraps and reports every call — duration,
 * success, bytes, and on whose behalf it ran — to the health monitor: the passive half of health.
 * Keeps the segment capability when the inner backend has it.
 */
export class ObservedBackend implements Backend {
  readonly id: string
  readonly createSegment?: (key: string, options?: BackendCallOptions) => Promise<SegmentWriter>
  readonly readRange?: (key: string, offset: number, length: number, options?: BackendCallOptions) => Promise<Uint8Array>

  constructor(
    /** The wrapped backend. */
    readonly inner: Backend,
    private readonly sink: OpSink,
  ) {
    this.id = inner.id
    if (supportsSegments(inner)) {
      this.createSegment = async (key, options) => {
        const writer = await this.#timed('put', () => inner.createSegment(key, options), () => ({}))
        return {
          write: (offset, bytes, opts) => this.#timed('put', () => writer.write(offset, bytes, opts), () => ({ bytesWritten: bytes.byteLength })),
          close: () => writer.close(),
        }
      }
      this.readRange = (key, offset, length, options) => this.#timed('read', () => inner.readRange(key, offset, length, options), (b) => ({ bytesRead: b.byteLength }))
    }
  }

  put(key: string, body: BlockBody, options?: BackendCallOptions): Promise<{ readonly bytes: number }> {
    return this.#timed('put', () => this.inner.put(key, body, options), (r) => ({ bytesWritten: r.bytes }))
  }

  /** Timed to the stream's start; its bytes are not counted. */
  get(key: string, options?: BackendCallOptions): Promise<Readable> {
    return this.#timed('get', () => this.inner.get(key, options), () => ({}))
  }

  read(key: string, options?: BackendCallOptions): Promise<Uint8Array> {
    return this.#timed('read', () => this.inner.read(key, options), (b) => ({ bytesRead: b.byteLength }))
  }

  delete(key: string, options?: BackendCallOptions): Promise<void> {
    return this.#timed('delete', () => this.inner.delete(key, options), () => ({}))
  }

  stat(key: string, options?: BackendCallOptions): Promise<BlockStat | undefined> {
    return this.#timed('stat', () => this.inner.stat(key, options), () => ({}))
  }

  /** Timed over the whole listing. */
  async *list(prefix: string, options?: BackendCallOptions): AsyncIterable<string> {
    const purpose = currentPurpose()
    const start = this.sink.elapsed()
    let ok = false
    try {
      yield* this.inner.list(prefix, options)
      ok = true
    } finally {
      this.sink.record(this.id, { op: 'list', ms: Math.max(0, this.sink.elapsed() - start), ok }, purpose)
    }
  }

  capacity(options?: BackendCallOptions): Promise<BackendCapacity> {
    return this.#timed('capacity', () => this.inner.capacity(options), () => ({}))
  }

  async #timed<T>(op: string, run: () => Promise<T>, bytes: (result: T) => Pick<OpRecord, 'bytesRead' | 'bytesWritten'>): Promise<T> {
    const purpose = currentPurpose()
    const start = this.sink.elapsed()
    try {
      const result = await run()
      this.sink.record(this.id, { op, ms: Math.max(0, this.sink.elapsed() - start), ok: true, ...bytes(result) }, purpose)
      return result
    } catch (err) {
      // A missing key is an answer, not a backend failure.
      const ok = (err as { code?: string }).code === 'STORAGE_ERR_NOT_FOUND'
      this.sink.record(this.id, { op, ms: Math.max(0, this.sink.elapsed() - start), ok }, purpose)
      throw err
    }
  }
}
