import { ClientError } from '../errors.js'
import type { HashFactory, RandomAccessSource, SequentialSource } from '../ports.js'
import { short } from '../partition.js'
import { toHex } from '../resume-state.js'
import { chunkedSource } from '../sequential-source.js'
import { sharedDigestWorkerPool, type DigestWorkerPool } from './digest-worker-pool.js'

const READ_PIECE_BYTES = 1024 * 1024

/**
 * Largest range a Blob source digests with WebCrypto, bytes: `crypto.subtle.digest` is one-shot, so
 * the range is held in memory while it runs (partitions in flight × this, at most).
 */
export const WEBCRYPTO_DIGEST_MAX_BYTES = 16 * 1024 * 1024

/** Options of {@link blobSource}. */
export interface BlobSourceOptions {
  /**
   * Digest partitions in Web Workers (the page's pool, at most min(4, `navigator.hardwareConcurrency`)),
   * which read the range themselves: nothing of it is read, copied or hashed on the page's thread.
   * False: read and digest them on the calling thread (Chromium runs `crypto.subtle.digest` on the
   * caller's thread). Where a worker cannot start (no Workers, a CSP without `worker-src blob:`)
   * the calling thread does it anyway. Default true.
   */
  readonly digestInWorkers?: boolean
}

/**
 * A `File` or `Blob`. Partitions are digested by WebCrypto (`digest`: native SHA-256 of ranges up to
 * {@link WEBCRYPTO_DIGEST_MAX_BYTES}, in a Web Worker unless `digestInWorkers` is false; where the
 * page is not a secure context there is none, and the engine hashes `read` pieces itself); `read` yields
 * `slice(start, end).arrayBuffer()` in pieces of 1 MiB (memory holds one piece per read); bodies
 * are sent as the Blob's own slices (`blob`: fetch reads them from disk, no copy passes through the
 * page). A File that changed on disk fails the read or the send. Fingerprint of a File: name, size,
 * lastModified and type (what a reload of the same file picks again); a plain Blob has none (pass
 * `fingerprint` to resume it).
 */
export function blobSource(blob: Blob, options: BlobSourceOptions = {}): RandomAccessSource {
  const workers = options.digestInWorkers === false ? undefined : sharedDigestWorkerPool()
  const fingerprint = typeof File !== 'undefined' && blob instanceof File ? `file:${blob.name}:${blob.size}:${blob.lastModified}:${blob.type}` : undefined
  return {
    kind: 'random',
    size: blob.size,
    fingerprint,
    async *read(start: number, end: number): AsyncIterable<Uint8Array> {
      for (let at = start; at < end; ) {
        let piece: Uint8Array
        try {
          piece = new Uint8Array(await blob.slice(at, Math.min(end, at + READ_PIECE_BYTES)).arrayBuffer())
        } catch (err) {
          throw new ClientError('CLIENT_ERR_SOURCE', `cannot read the file at ${at}: ${(err as Error).message}`, { cause: err })
        }
        if (piece.length === 0) return // shrank: the engine reports the short read
        yield piece
        at += piece.length
      }
    },
    blob: (start: number, end: number) => blob.slice(start, end),
    digest: (start: number, end: number) => (globalThis.crypto?.subtle && end - start <= WEBCRYPTO_DIGEST_MAX_BYTES ? webCryptoDigest(blob, start, end, workers) : undefined),
    close: async () => {},
  }
}

/** WebCrypto's SHA-256 of the range: in a worker of `workers` where it can run one, else on this thread. */
async function webCryptoDigest(blob: Blob, start: number, end: number, workers: DigestWorkerPool | undefined): Promise<Uint8Array> {
  const inWorker = await workers?.digest(blob, start, end)
  if (inWorker) return inWorker
  let bytes: ArrayBuffer
  try {
    bytes = await blob.slice(start, end).arrayBuffer()
  } catch (err) {
    throw new ClientError('CLIENT_ERR_SOURCE', `cannot read the file at ${start}: ${(err as Error).message}`, { cause: err })
  }
  if (bytes.byteLength < end - start) throw short(start + bytes.byteLength, blob.size)
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes))
}

/** Bytes in memory. Fingerprint: their SHA-256 (so `hash` must be ready). */
export function bytesSource(bytes: Uint8Array, hash: HashFactory): RandomAccessSource {
  const h = hash()
  h.update(bytes)
  return {
    kind: 'random',
    size: bytes.length,
    fingerprint: `sha256:${toHex(h.digest())}`,
    async *read(start: number, end: number): AsyncIterable<Uint8Array> {
      if (end > start) yield bytes.subarray(start, Math.min(end, bytes.length))
    },
    close: async () => {},
  }
}

/**
 * A web `ReadableStream`, read once front to back (unknown length unless `size` is given). `next(n)`
 * gathers up to n bytes; at most one chunk of the stream is held beyond that. No fingerprint.
 */
export function streamSource(stream: ReadableStream<Uint8Array>, size?: number): SequentialSource {
  const reader = stream.getReader()
  return chunkedSource(
    async () => {
      const r = await reader.read()
      return r.done ? undefined : r.value
    },
    async (ended) => {
      if (!ended) await reader.cancel().catch(() => {})
      reader.releaseLock()
    },
    size,
  )
}
