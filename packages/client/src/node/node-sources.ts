import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { ClientError } from '../errors.js'
import type { RandomAccessSource, SequentialSource } from '../ports.js'
import { chunkedSource } from '../sequential-source.js'

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
 * A Node Readable or a web ReadableStream, read once front to back. `next(n)` gathers up to n
 * bytes; at most one chunk of the stream is held beyond that. No fingerprint (pass `fingerprint` to resume a stream).
 */
export function streamSource(stream: Readable | ReadableStream<Uint8Array>, size?: number): SequentialSource {
  const iterator = (stream as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]()
  return chunkedSource(
    async () => {
      const r = await iterator.next()
      if (r.done) return undefined
      return typeof r.value === 'string' ? new TextEncoder().encode(r.value) : r.value
    },
    async (ended) => {
      if (!ended) await iterator.return?.().catch(() => {})
    },
    size,
  )
}
