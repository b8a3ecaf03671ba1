// Node entry of @tessera/client: `upload()` with Node ports bound, plus everything portable.
// The browser entry exports the same names with fetch/Blob/IndexedDB ports.
export { upload, nodeSha256 } from './node/node-upload.js'
export type { NodeUploadInput } from './node/node-upload.js'
export { NodeHttpTransport } from './node/node-http-transport.js'
export type { NodeHttpTransportOptions } from './node/node-http-transport.js'
export { FileStateStore, defaultStateDir } from './node/file-state-store.js'
export { bytesSource, fileSource, streamSource } from './node/node-sources.js'
// The portable names, one list in core.ts (every entry exports them).
export * from './core.js'
