import type { AttemptRisk } from '@tessera/predict'
import type { AttemptView } from './hedge-scheduler.js'

/** Why a split was asked: how long the attempt's PATCH had run, and its socket's recent rate (undefined when not measured). */
export interface SplitRequest {
  readonly patchMs: number
  readonly socketRateBps: number | undefined
}

/**
 * One attempt at a partition: one tus upload URL (a new partial, or the one resumed by HEAD) on one
 * endpoint, driven by its own requests, cancellable on its own. A partition has one running
 * attempt, two while hedged.
 */
export class Attempt implements AttemptView {
  /** Server offset acknowledged on this attempt's URL, bytes. */
  acked = 0
  /** Max(acked, offset of the current PATCH + body bytes its socket took): what the hedge loop scores, bytes. */
  progressBytes = 0
  /** Body bytes this attempt's sockets took, bytes. */
  sent = 0
  /** Longest silence between progress points so far, ms. */
  maxGapMs = 0
  /** Longest silence between two body slices of one PATCH so far, ms. */
  maxBodyGapMs = 0
  lastProgressMs: number
  url: string | undefined
  /** Aborted because another attempt of the partition won. */
  lost = false
  /** The server acknowledged the whole partition on this attempt. */
  completed = false
  /** Clock value when a hedge of this attempt started, ms. */
  hedgedAtMs: number | undefined
  /** Its latest score from the hedge loop. */
  lastRisk: AttemptRisk | undefined
  /** Aborted by the hedge loop as all but certainly dead: its P(dead) and silence then. */
  abandoned: { readonly dead: number; readonly silentMs: number } | undefined
  readonly controller = new AbortController()
  /** Created with `Upload-Defer-Length: 1` and no digest in its metadata: it may be split (docs/client.md, "Splits"). */
  deferred = false
  /** Its length is declared on the server (always, unless {@link deferred}). */
  lengthDeclared = true
  /** Splits asked of it so far (one that found too little committed lets it carry on; at most two). */
  splitAsks = 0
  /** Asked to split: its in-flight PATCH is being cut. */
  splitRequest: SplitRequest | undefined
  /** Cuts the in-flight PATCH only (the attempt goes on); set while a PATCH runs. */
  cutPatch: ((reason: unknown) => void) | undefined
  /** When the current PATCH started (clock, ms) and the offset it started at, bytes. */
  patchStartedMs = 0
  patchFrom = 0

  constructor(
    readonly partition: number,
    /** Attempt number of the partition in this run, from 0 (`tessera-attempt` of the partials it creates). */
    readonly attempt: number,
    readonly endpoint: string,
    /** The partition's length, bytes (0 while unknown: sequential deferred length). */
    readonly totalBytes: number,
    /** Started by the hedge loop (its bytes count against the hedge budget). */
    readonly hedge: boolean,
    readonly startedMs: number,
  ) {
    this.lastProgressMs = startedMs
  }

  /** A body slice was taken at `now`; `first` of its PATCH (the gap before it is request setup, not body). */
  bodyProgress(now: number, first: boolean): void {
    if (!first) this.maxBodyGapMs = Math.max(this.maxBodyGapMs, now - this.lastProgressMs)
    this.progress(now)
  }

  /** Something moved at `now` (POST/HEAD answered, a body slice taken, a PATCH answered). */
  progress(now: number): void {
    this.maxGapMs = Math.max(this.maxGapMs, now - this.lastProgressMs)
    this.lastProgressMs = Math.max(this.lastProgressMs, now)
  }
}
