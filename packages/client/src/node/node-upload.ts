import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { ClientError } from '../errors.js'
import { resolveUploadOptions, type UploadOptions } from '../options.js'
import type { Hash, UploadSource } from '../ports.js'
import { Upload } from '../upload.js'
import { FileStateStore } from './file-state-store.js'
import { bytesSource, fileSource, streamSource } from './node-sources.js'
import { NodeHttpTransport } from './node-http-transport.js'

/** What Node can upload: a file path, bytes, a Node Readable, a web ReadableStream, or any {@link UploadSource}. */
export type NodeUploadInput = string | Uint8Array | Readable | ReadableStream<Uint8Array> | UploadSource

/** SHA-256 by node:crypto. */
export function nodeSha256(): Hash {
  const h = createHash('sha256')
  return {
    update: (bytes) => void h.update(bytes),
    digest: () => new Uint8Array(h.digest()),
  }
}

/**
 * Starts an upload (Node). Ports not given in `options` are bound here: node:http transport
 * (closed when the upload settles), node:crypto SHA-256, a {@link FileStateStore} in
 * `TESSERA_STATE_DIR` or `~/.tessera`, `Date.now`.
 * @throws ClientError `CLIENT_ERR_INVALID_OPTION` synchronously for invalid options; every other
 *   error rejects `done`.
 */
export function upload(input: NodeUploadInput, options: UploadOptions): Upload {
  const o = resolveUploadOptions(options)
  const transport = o.transport ?? new NodeHttpTransport({ connectTimeoutMs: o.connectTimeoutMs })
  const upload = Upload.start(() => openSource(input, o.size), o, {
    transport,
    hash: o.hash ?? nodeSha256,
    stateStore: o.stateStore === undefined ? new FileStateStore() : o.stateStore,
    clock: o.clock ?? Date.now,
  })
  if (!o.transport) {
    const close = (): Promise<void> => transport.close()
    upload.done.then(close, close)
  }
  return upload
}

async function openSource(input: NodeUploadInput, size: number | undefined): Promise<UploadSource> {
  if (typeof input === 'string') return fileSource(input)
  if (input instanceof Uint8Array) return bytesSource(input)
  if (input instanceof Readable || (typeof ReadableStream !== 'undefined' && input instanceof ReadableStream)) return streamSource(input, size)
  if (typeof input === 'object' && input !== null && ((input as UploadSource).kind === 'random' || (input as UploadSource).kind === 'sequential')) return input as UploadSource
  throw new ClientError('CLIENT_ERR_INVALID_OPTION', `Expected the source to be a path, a Uint8Array, a Readable, a ReadableStream or an UploadSource, got ${typeof input}`)
}
