import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { ClientError } from '../errors.js'
import type { RandomAccessSource, SequentialSource } from '../ports.js'

const READ_HIGH_WATER_MARK = 1024 * 1024

/**
 * A file, read by ranges with `fs.createReadStream({ start, end })`. Fingerprint: absolute path +
 * size + mtime, so an edited file starts a new upload.
 * @throws ClientError `CLIENT_ERR_SOURCE` when the path is not a readable regular file.
 */
export async function fileSource(path: string): Promise<RandomAccessSource> {
  const absolute = resolve(path)
  const info = await stat(absolute).catch((err: unknown) => {
    throw new ClientError('CLIENT_ERR_SOURCE', `cannot read ${absolute}: ${(err as Error).message}`, { cause: err })
  })
  if (!info.isFile()) throw new ClientError('CLIENT_ERR_SOURCE', `${absolute} is not a regular file`)
  return {
    kind: 'random',
    size: info.size,
    fingerprint: `file:${absolute}:${info.size}:${Math.trunc(info.mtimeMs)}`,
    async *read(start: number, end: number): AsyncIterable<Uint8Array> {
      if (end <= start) return
      yield* createReadStream(absolute, { start, end: end - 1, highWaterMark: READ_HIGH_WATER_MARK }) as AsyncIterable<Uint8Array>
    },
    close: async () => {},
  }
}

/** Bytes in memory. Fingerprint: their SHA-256. */
export function bytesSource(bytes: Uint8Array): RandomAccessSource {
  return {
    kind: 'random',
    size: bytes.length,
    fingerprint: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    async *read(start: number, end: number): AsyncIterable<Uint8Array> {
      if (end > start) yield bytes.subarray(start, Math.min(end, bytes.length))
    },
    close: async () => {},
  }
}

/**
 * A Node Readable or a web ReadableStream, read once front to back. Holds at most one chunk of the
 * stream beyond what `next()` handed out. No fingerprint (pass `fingerprint` to resume a stream).
 */
export function streamSource(stream: Readable | ReadableStream<Uint8Array>, size?: number): SequentialSource {
  const iterator = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  let rest: Uint8Array | undefined
  let ended = false
  return {
    kind: 'sequential',
    size,
    fingerprint: undefined,
    async next(maxBytes: number): Promise<Uint8Array> {
      if (!rest || rest.length === 0) {
        if (ended) return new Uint8Array(0)
        let r: IteratorResult<Uint8Array>
        try {
          r = await iterator.next()
        } catch (err) {
          throw new ClientError('CLIENT_ERR_SOURCE', `the source stream failed: ${(err as Error).message}`, { cause: err })
        }
        if (r.done) {
          ended = true
          return new Uint8Array(0)
        }
        rest = typeof r.value === 'string' ? new TextEncoder().encode(r.value) : r.value
      }
      const out = rest.subarray(0, maxBytes)
      rest = rest.subarray(out.length)
      return out
    },
    close: async () => {
      if (!ended) await iterator.return?.().catch(() => {})
    },
  }
}
