// Node entry of @tessera/client: `upload()` with Node ports bound, plus everything portable.
// The browser entry exports the same names with fetch/Blob/localStorage ports.
export { upload, nodeSha256 } from './node/node-upload.js'
export type { NodeUploadInput } from './node/node-upload.js'
export { UndiciTransport } from './node/undici-transport.js'
export type { UndiciTransportOptions } from './node/undici-transport.js'
export { FileStateStore, defaultStateDir } from './node/file-state-store.js'
export { bytesSource, fileSource, streamSource } from './node/node-sources.js'
// The portable names, one list in core.ts (every entry exports them).
export * from './core.js'
