import { createCipheriv, createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

const CHUNK_BYTES = 1024 * 1024
const ZEROS = Buffer.alloc(CHUNK_BYTES)

/**
 * Deterministic pseudo-random bytes: AES-128-CTR keystream keyed by `seed`, so any size is cheap
 * to produce (native code) and the same seed always gives the same bytes. Yields chunks of at most
 * 1 MiB; never holds more than one.
 */
export function* dataChunks(size: number, seed: number | string): Generator<Buffer> {
  const key = createHash('sha256').update(`tessera-test-data:${seed}`).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  for (let left = size; left > 0; ) {
    const n = Math.min(left, CHUNK_BYTES)
    yield cipher.update(ZEROS.subarray(0, n))
    left -= n
  }
}

/** The deterministic bytes of {@link dataChunks} as a Node stream. */
export function dataStream(size: number, seed: number | string): Readable {
  return Readable.from(dataChunks(size, seed), { objectMode: false })
}

/** The bytes of {@link dataChunks} in one Buffer (small sizes only). */
export function dataBuffer(size: number, seed: number | string): Buffer {
  return Buffer.concat([...dataChunks(size, seed)], size)
}

/** Writes `size` deterministic bytes to `path` without holding the file in memory; resolves its SHA-256 (hex). */
export async function writeDataFile(path: string, size: number, seed: number | string): Promise<string> {
  const hash = createHash('sha256')
  async function* tee(): AsyncGenerator<Buffer> {
    for (const chunk of dataChunks(size, seed)) {
      hash.update(chunk)
      yield chunk
    }
  }
  await pipeline(tee(), createWriteStream(path))
  return hash.digest('hex')
}

/** SHA-256 (hex) of an async iterable of bytes, streamed. */
export async function sha256Of(source: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of source) hash.update(chunk)
  return hash.digest('hex')
}

/** SHA-256 (hex) of a file, streamed. */
export function sha256File(path: string): Promise<string> {
  return sha256Of(createReadStream(path))
}

/** SHA-256 (hex) of bytes `[start, end)` of the deterministic data for `seed`, streamed. */
export function sha256Data(seed: number | string, size: number, start = 0, end = size): string {
  const hash = createHash('sha256')
  let offset = 0
  for (const chunk of dataChunks(end, seed)) {
    const lo = Math.max(start - offset, 0)
    if (lo < chunk.length) hash.update(chunk.subarray(lo))
    offset += chunk.length
  }
  return hash.digest('hex')
}

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1), for seeded kill points and sizes. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
