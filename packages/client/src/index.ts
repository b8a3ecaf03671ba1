// Node entry of @tessera/client: `upload()` with Node ports bound, plus everything portable.
// A browser entry will export the same names with fetch/Blob/IndexedDB ports.
export { upload, nodeSha256 } from './node/node-upload.js'
export type { NodeUploadInput } from './node/node-upload.js'
export { UndiciTransport } from './node/undici-transport.js'
export type { UndiciTransportOptions } from './node/undici-transport.js'
export { FileStateStore, defaultStateDir } from './node/file-state-store.js'
export { bytesSource, fileSource, streamSource } from './node/node-sources.js'
export { ClientError, isRetriable } from './errors.js'
export type { ClientErrorCode } from './errors.js'
export { defaultUploadOptions, resolveUploadOptions } from './options.js'
export type { ResolvedUploadOptions, UploadOptions, UploadPriority } from './options.js'
export type { Clock, Hash, HashFactory, HttpRequest, HttpResponse, HttpTransport, RandomAccessSource, SequentialSource, StateStore, UploadSource } from './ports.js'
export { Partitioner } from './partitioner.js'
export type { LinkEstimate, PartitionSizing, PartitionerOptions } from './partitioner.js'
export { ConcurrencyController } from './concurrency-controller.js'
export type { ConcurrencyControllerOptions } from './concurrency-controller.js'
export { Upload } from './upload.js'
export type { EndpointModels, UploadPorts, UploadResult } from './upload.js'
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
} from './upload-events.js'
export type { ResumeState } from './resume-state.js'
export type { AttemptLostEvent, AttemptTerminatedEvent, AttemptWonEvent, DoneEvent, HedgeStartEvent, WinnerAdoptedEvent } from './upload-events.js'
export type { Timers } from './ports.js'
