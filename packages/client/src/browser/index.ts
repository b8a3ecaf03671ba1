// Browser entry of @tessera/client (package.json condition `browser`, and `@tessera/client/browser`):
// `upload()` with fetch, Blob, hash-wasm SHA-256 and localStorage bound, plus everything portable.
// The same names as the Node entry where the concept exists on both sides.
export { upload, BROWSER_CHUNK_BYTES } from './browser-upload.js'
export type { BrowserUploadInput } from './browser-upload.js'
export { FetchTransport } from './fetch-transport.js'
export type { FetchTransportOptions } from './fetch-transport.js'
export { LocalStorageStateStore, defaultBrowserStateStore } from './local-storage-state-store.js'
export { blobSource, bytesSource, streamSource } from './blob-sources.js'
export { loadWasmSha256 } from './wasm-sha256.js'
export { ClientError, isRetriable } from '../errors.js'
export type { ClientErrorCode } from '../errors.js'
export { defaultUploadOptions, resolveUploadOptions } from '../options.js'
export type { ResolvedUploadOptions, UploadOptions, UploadPriority } from '../options.js'
export type { Clock, Hash, HashFactory, HttpRequest, HttpResponse, HttpTransport, RandomAccessSource, SequentialSource, StateStore, UploadSource } from '../ports.js'
export { Partitioner } from '../partitioner.js'
export type { LinkEstimate, PartitionSizing, PartitionerOptions } from '../partitioner.js'
export { ConcurrencyController } from '../concurrency-controller.js'
export type { ConcurrencyControllerOptions } from '../concurrency-controller.js'
export { Upload } from '../upload.js'
export type { EndpointModels, UploadPorts, UploadResult } from '../upload.js'
export type {
  AttemptDoneEvent,
  AttemptFailedEvent,
  AttemptRef,
  AttemptStartEvent,
  CapabilitiesEvent,
  ConcurrencyEvent,
  PartitionEvent,
  ProgressEvent,
  ResumeEvent,
  StallEvent,
  UploadEventMap,
  UploadEventName,
} from '../upload-events.js'
export type { ResumeState } from '../resume-state.js'
