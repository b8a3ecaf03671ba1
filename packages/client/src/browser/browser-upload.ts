import { ClientError } from '../errors.js'
import { resolveUploadOptions, type UploadOptions } from '../options.js'
import type { HashFactory, HttpTransport, UploadSource } from '../ports.js'
import { Upload } from '../upload.js'
import { WEBCRYPTO_DIGEST_MAX_BYTES, blobSource, bytesSource, streamSource, type BlobSourceOptions } from './blob-sources.js'
import { FetchTransport } from './fetch-transport.js'
import { defaultBrowserStateStore } from './indexeddb-state-store.js'
import { loadWasmSha256 } from './wasm-sha256.js'
import { XhrTransport } from './xhr-transport.js'

/** What a browser can upload: a File or Blob, bytes, a web ReadableStream, or any {@link UploadSource}. */
export type BrowserUploadInput = Blob | Uint8Array | ReadableStream<Uint8Array> | UploadSource

/** Options of the browser's {@link upload}: the portable {@link UploadOptions}, plus how a File's partitions are digested. */
export interface BrowserUploadOptions extends UploadOptions {
  /**
   * Digest a File's or Blob's partitions in Web Workers, off the page's main thread (see
   * {@link BlobSourceOptions.digestInWorkers}); false: on it. Default true.
   */
  readonly digestInWorkers?: boolean
}

/**
 * Default `chunkBytes` in browsers, bytes: the largest PATCH body read into the page's memory (a
 * server that does not verify partition digests), and the largest PATCH of a verified partition
 * where the transport reports no progress while a body goes out ({@link FetchTransport}: smaller
 * bodies mean finer progress and a shorter stall window). With {@link XhrTransport} (`sendsBlobs`)
 * a verified partition of a File goes in one PATCH, its Blob slice.
 */
export const BROWSER_CHUNK_BYTES = 2 * 1024 * 1024

/** {@link XhrTransport} where the page has XMLHttpRequest, else (a worker, a service worker) {@link FetchTransport}. */
export function defaultBrowserTransport(): HttpTransport {
  return typeof XMLHttpRequest === 'function' ? new XhrTransport() : new FetchTransport()
}

/**
 * Starts an upload (browser). Ports not given in `options` are bound here: {@link defaultBrowserTransport},
 * hash-wasm SHA-256 (loaded before the first byte is read), resume state in IndexedDB
 * ({@link defaultBrowserStateStore}), `Date.now`. `chunkBytes` defaults to {@link BROWSER_CHUNK_BYTES},
 * `maxPartitionBytes` to {@link WEBCRYPTO_DIGEST_MAX_BYTES} (a File's partitions up to it are
 * digested by WebCrypto in a Web Worker, off the main thread; larger ones by hash-wasm on it).
 * @throws ClientError `CLIENT_ERR_INVALID_OPTION` synchronously for invalid options; every other
 *   error rejects `done`.
 */
export function upload(input: BrowserUploadInput, options: BrowserUploadOptions): Upload {
  const o = resolveUploadOptions({ ...options, chunkBytes: options.chunkBytes ?? BROWSER_CHUNK_BYTES, maxPartitionBytes: options.maxPartitionBytes ?? Math.max(WEBCRYPTO_DIGEST_MAX_BYTES, typeof options.minPartitionBytes === 'number' ? options.minPartitionBytes : 0) })
  const { digestInWorkers } = options // resolveUploadOptions checked `options` is an object and returns only its own fields
  if (digestInWorkers !== undefined && typeof digestInWorkers !== 'boolean') {
    throw new ClientError('CLIENT_ERR_INVALID_OPTION', `Expected \`digestInWorkers\` to be a boolean, got \`${String(digestInWorkers)}\` (${typeof digestInWorkers})`)
  }
  let sha256: HashFactory | undefined
  // The engine asks for hashes only after the source is open, and the source opens after this loaded.
  const hash: HashFactory =
    o.hash ??
    (() => {
      if (!sha256) throw new ClientError('CLIENT_ERR_SOURCE', 'SHA-256 is not loaded yet')
      return sha256()
    })
  return Upload.start(
    async () => {
      sha256 ??= await loadWasmSha256()
      return openSource(input, o.size, hash, { digestInWorkers })
    },
    o,
    {
      transport: o.transport ?? defaultBrowserTransport(),
      hash,
      stateStore: o.stateStore === undefined ? defaultBrowserStateStore() : o.stateStore,
      clock: o.clock ?? Date.now,
    },
  )
}

function openSource(input: BrowserUploadInput, size: number | undefined, hash: HashFactory, blobOptions: BlobSourceOptions): UploadSource {
  if (typeof Blob !== 'undefined' && input instanceof Blob) return blobSource(input, blobOptions)
  if (input instanceof Uint8Array) return bytesSource(input, hash)
  if (typeof ReadableStream !== 'undefined' && input instanceof ReadableStream) return streamSource(input, size)
  if (typeof input === 'object' && input !== null && ((input as UploadSource).kind === 'random' || (input as UploadSource).kind === 'sequential')) return input as UploadSource
  throw new ClientError('CLIENT_ERR_INVALID_OPTION', `Expected the source to be a File, a Blob, a Uint8Array, a ReadableStream or an UploadSource, got ${typeof input}`)
}
