// Node entry of @tessera/client: `upload()` with Node ports bound, plus everything portable.
// The browser entry exports the same names with fetch/Blob/localStorage ports.
export { upload, nodeSha256 } from './node/node-upload.js'
export type { NodeUploadInput } from './node/node-upload.js'
export { UndiciTransport } from './node/undici-transport.js'
export type { UndiciTransportOptions } from './node/undici-transport.js'
export { FileStateStore, defaultStateDir } from './node/file-state-store.js'
export { bytesSource, fileSource, streamSource } from './node/node-sources.js'
// The portable names, one list in core.ts (every entry exports them).
export { ClientError, ConcurrencyController, Partitioner, Upload, defaultUploadOptions, isRetriable, resolveUploadOptions } from './core.js'
export type {
  AttemptDoneEvent,
  AttemptFailedEvent,
  AttemptLostEvent,
  AttemptRef,
  AttemptStartEvent,
  AttemptTerminatedEvent,
  AttemptWonEvent,
  CapabilitiesEvent,
  EndpointSkippedEvent,
  PartitionSplitEvent,
  ClientErrorCode,
  Clock,
  ConcurrencyControllerOptions,
  ConcurrencyEvent,
  DoneEvent,
  EndpointModels,
  Hash,
  HashFactory,
  HedgeStartEvent,
  HttpRequest,
  HttpResponse,
  HttpTransport,
  LinkEstimate,
  PartitionEvent,
  PartitionSizing,
  PartitionerOptions,
  ProgressEvent,
  RandomAccessSource,
  ResolvedUploadOptions,
  ResumeEvent,
  ResumeState,
  SequentialSource,
  StallEvent,
  StateStore,
  Timers,
  UploadEventMap,
  UploadEventName,
  UploadOptions,
  UploadPorts,
  UploadPriority,
  UploadResult,
  UploadSource,
  WinnerAdoptedEvent,
} from './core.js'
