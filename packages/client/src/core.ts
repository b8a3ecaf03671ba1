// Portable entry (`@tessera/client/core`): no node:*. A platform entry binds the
// ports; this one exports the machinery for a custom binding, and both platform entries re-export it whole.
export { ClientError, isRetriable } from './errors.js'
export type { ClientErrorCode } from './errors.js'
export { defaultUploadOptions, resolveUploadOptions } from './options.js'
export type { ResolvedUploadOptions, UploadOptions, UploadPriority } from './options.js'
export type { Clock, Hash, HashFactory, HttpRequest, HttpResponse, HttpTransport, RandomAccessSource, SequentialSource, StateStore, UploadSource } from './ports.js'
export { Partitioner } from './partitioner.js'
export type { LinkEstimate, PartitionSizing, PartitionerOptions } from './partitioner.js'
export { ConcurrencyController } from './concurrency-controller.js'
export type { ConcurrencyControllerOptions } from './concurrency-controller.js'
export { TusClient } from './tus-client.js'
export type { CreateRequest, PatchRequest, ServerCapabilities, StreamedBody } from './tus-client.js'
export { Upload } from './upload.js'
export { UploadSession } from './upload-session.js'
export type { EndpointModels } from './hedge-scheduler.js'
export type { UploadPorts, UploadResult } from './upload.js'
export { UploadEmitter } from './upload-events.js'
export type {
  AttemptDoneEvent,
  AttemptFailedEvent,
  AttemptRef,
  AttemptStartEvent,
  CapabilitiesEvent,
  EndpointSkippedEvent,
  PartitionSplitEvent,
  ConcurrencyEvent,
  PartitionEvent,
  ProgressEvent,
  ResumeEvent,
  StallEvent,
  UploadEventMap,
  UploadEventName,
} from './upload-events.js'
export { parseResumeState, stateKey } from './resume-state.js'
export type { PartitionRecord, ResumeState } from './resume-state.js'
export type { AttemptLostEvent, AttemptTerminatedEvent, AttemptWonEvent, DoneEvent, HedgeStartEvent, WinnerAdoptedEvent } from './upload-events.js'
export type { Timers } from './ports.js'
export { attemptDeadlineMs, hedgeTarget, planHedges, scoreAttempt } from './hedge-scheduler.js'
export type { AttemptView, EndpointView, HedgeInputs, HedgePlan, HedgeRound, PartitionView } from './hedge-scheduler.js'
