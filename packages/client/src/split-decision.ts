// The split decisions of seed 001 §1 (docs/client.md "Splits"), pure: when to cut an in-flight
// PATCH to ask the server how much arrived, and whether to split once it has answered.

/** A point of an attempt's progress: clock value (ms) and its progress bytes then. */
export interface ProgressSample {
  readonly atMs: number
  readonly bytes: number
}

/** Thresholds of the split decisions. */
export interface SplitThresholds {
  /** `targetPartitionMs` of the upload, ms. */
  readonly targetPartitionMs: number
  /** Cut when the rest would take more than this many `targetPartitionMs`. */
  readonly factor: number
  /** The rest must be at least this long to be worth re-partitioning, bytes. */
  readonly minPartitionBytes: number
  /** The socket rate is measured over at least this long, ms. */
  readonly windowMs: number
}

/** What {@link cutDecision} found. */
export interface CutVerdict {
  readonly cut: boolean
  /** The socket's recent rate, bytes/s (undefined while the window is not full). */
  readonly socketRateBps: number | undefined
}

/**
 * Whether an in-flight PATCH should be cut to see whether its partition is worth splitting (pure).
 * Only the server knows how much arrived, and asking it (HEAD) stops the PATCH (the gateway's
 * HEAD takes the upload's lock), so the decision rests on what the client sees:
 *
 * - the PATCH has run `factor` × `targetPartitionMs` (a partition is sized to take
 *   `targetPartitionMs` at the measured throughput: this one is that much slower) — the only
 *   signal once the socket took the whole body, which kernel and proxy buffers make early; or
 * - the socket is still taking the body, and at the rate it took it over the last `windowMs` the
 *   rest of the body would take more than `factor` × `targetPartitionMs` (a rate of 0 is not a
 *   reason: a silent attempt is the hedge loop's and the stall timer's).
 *
 * Either way the rest must be at least `minPartitionBytes`. `samples` are the socket's progress
 * points, oldest first, the last one now.
 */
export function cutDecision(samples: readonly ProgressSample[], patch: { readonly startedMs: number }, totalBytes: number, t: SplitThresholds): CutVerdict {
  const last = samples[samples.length - 1]
  if (!last) return { cut: false, socketRateBps: undefined }
  const limitMs = t.factor * t.targetPartitionMs
  let first: ProgressSample | undefined
  for (let i = samples.length - 2; i >= 0; i--) {
    if (last.atMs - samples[i]!.atMs >= t.windowMs) {
      first = samples[i]
      break
    }
  }
  const socketRateBps = first ? ((last.bytes - first.bytes) * 1000) / (last.atMs - first.atMs) : undefined
  const rest = totalBytes - last.bytes
  if (last.atMs - patch.startedMs >= limitMs) return { cut: true, socketRateBps }
  const slowSocket = socketRateBps !== undefined && socketRateBps > 0 && rest >= t.minPartitionBytes && (rest * 1000) / socketRateBps > limitMs
  return { cut: slowSocket, socketRateBps }
}

/**
 * After a cut, with the server's offset known: whether to split (pure). The committed rate is
 * what the PATCH got through (`ackedBytes` in `patchMs`); split when the rest (`restBytes`) is at
 * least `minPartitionBytes` and would take longer than `targetPartitionMs` at that rate (otherwise
 * the attempt carries on from the offset: it is nearly done, or the cut was a false alarm).
 */
export function splitDecision(restBytes: number, ackedBytes: number, patchMs: number, t: SplitThresholds): { split: boolean; rateBps: number; remainingMs: number } {
  const rateBps = patchMs > 0 ? (ackedBytes * 1000) / patchMs : 0
  const remainingMs = rateBps > 0 ? (restBytes * 1000) / rateBps : Number.POSITIVE_INFINITY
  return { split: restBytes >= t.minPartitionBytes && remainingMs > t.targetPartitionMs, rateBps, remainingMs }
}
