// Browser entry of @tessera/client (package.json condition `browser`, and `@tessera/client/browser`):
// `upload()` with XMLHttpRequest (fetch where there is none), Blob, SHA-256 in digest workers or hash-wasm, and IndexedDB bound, plus everything portable.
// The same names as the Node entry where the concept exists on both sides.
export { upload, BROWSER_CHUNK_BYTES, defaultBrowserTransport } from './browser-upload.js'
export type { BrowserUploadInput, BrowserUploadOptions } from './browser-upload.js'
export { FetchTransport } from './fetch-transport.js'
export type { FetchTransportOptions } from './fetch-transport.js'
export { XhrTransport } from './xhr-transport.js'
export type { XhrTransportOptions } from './xhr-transport.js'
export { LocalStorageStateStore } from './local-storage-state-store.js'
export { IndexedDbStateStore, defaultBrowserStateStore, STATE_DATABASE, STATE_OBJECT_STORE } from './indexeddb-state-store.js'
export { blobSource, bytesSource, streamSource } from './blob-sources.js'
export type { BlobSourceOptions } from './blob-sources.js'
export { loadWasmSha256 } from './wasm-sha256.js'
// The portable names, one list in core.ts (every entry exports them).
export * from '../core.js'
