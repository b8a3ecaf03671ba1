import type { Json, TaskKind } from '../queue/task-queue.js'

/**
 * One thing the engine did or saw, with its reason: a structured log line (`'durability action'`)
 * and an entry of {@link DurabilityStatus.recent}. JSON-able.
 */
export interface DurabilityEvent {
  /** Clock time, ms. */
  readonly atMs: number
  /** A task kind, `fault` (a read reported a bad block), or `suspect` (a backend's stripes sent to the head of the scrub order). */
  readonly action: TaskKind | 'fault' | 'suspect'
  /** `planned`: queued; `done`/`failed`: ran; `skipped`: no longer needed when its turn came; `observed`: a fault noted. */
  readonly outcome: 'planned' | 'done' | 'failed' | 'skipped' | 'observed'
  /** Why (`backend-risk`, `object-risk`, `backend-down`, `block-missing`, `read-corrupt`, `scrub-missing`, `risk-passed`, `periodic`, …) or why skipped. */
  readonly reason: string
  readonly objectId?: string
  readonly stripe?: number
  readonly block?: number
  /** The backend the action is about (the one a block moves off, the faulty one). */
  readonly backend?: string | null
  /** Where new blocks went. */
  readonly targets?: readonly string[]
  /** The risk behind the decision: the object's P(loss) or the backend's P(unavailable). */
  readonly risk?: number
  /** Error code when it failed. */
  readonly code?: string
  /** Kind-specific figures (parity from/to, faults found, …). */
  readonly detail?: { readonly [key: string]: Json }
}
