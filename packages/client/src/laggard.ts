/** What the laggard rule reads of a running attempt (an `AttemptView`). */
export interface RunningAttempt {
  /** The partition's length, bytes. */
  readonly totalBytes: number
  readonly startedMs: number
  /** Clock value of its last progress, ms. */
  readonly lastProgressMs: number
}

/** A partition of this upload that completed: its winning attempt's body bytes and when it ran. */
export interface PeerSample {
  readonly bytes: number
  readonly startedMs: number
  readonly endedMs: number
}

/**
 * How far behind its last peer a laggard is, as a fraction of the peers' pace (at least
 * {@link LAGGARD_MARGIN_MS}). Speculative execution of stragglers (MapReduce, LATE): the partitions
 * of one upload run side by side against the same storage and finish close together — measured
 * 0–41 ms apart for 16 MiB uploads of 4 × 4 MiB on a loaded machine (docs/performance.md, "Change
 * 5") — so one still silent well after all of its peers finished is stuck, whatever the endpoint
 * models (learned over many uploads, deadlines floored at seconds) still expect of it.
 */
export const LAGGARD_LAG = 0.25
/** Least lag and silence of a laggard: event-loop and GC pauses, the answer's round trip, ms. */
export const LAGGARD_MARGIN_MS = 50
/** Peers needed before lateness is judged against them. */
export const LAGGARD_MIN_PEERS = 2

/** The peers `a` is judged against: how long the slowest took for `a`'s bytes (its pace), and when the last one ended, ms. */
export interface PeerPace {
  readonly paceMs: number
  readonly lastEndedMs: number
}

/**
 * The pace of `a`'s comparable peers, or undefined without {@link LAGGARD_MIN_PEERS} of them.
 * Comparable: completed while `a` ran (so under the same conditions — a link that got slower since
 * earlier partitions finished makes nobody a laggard) with at least half of `a`'s bytes (a short
 * resumed rest is mostly round trips). The slowest of them sets the pace.
 */
export function peerPace(a: RunningAttempt, peers: readonly PeerSample[]): PeerPace | undefined {
  let paceMs = 0
  let lastEndedMs = -Infinity
  let n = 0
  for (const s of peers) {
    if (s.endedMs <= a.startedMs || s.bytes < a.totalBytes / 2) continue
    n++
    paceMs = Math.max(paceMs, ((s.endedMs - s.startedMs) * a.totalBytes) / s.bytes)
    lastEndedMs = Math.max(lastEndedMs, s.endedMs)
  }
  return n >= LAGGARD_MIN_PEERS ? { paceMs, lastEndedMs } : undefined
}

/**
 * Whether running attempt `a` is a laggard at `now`: it is {@link LAGGARD_LAG} × its peers' pace
 * (at least {@link LAGGARD_MARGIN_MS}) past when it should have ended — its last peer's end, or its
 * own start + the pace if it started later — and has been silent that long too: an attempt still
 * taking body slices is moving, and is left to the endpoint models.
 */
export function isLaggard(a: RunningAttempt, peers: readonly PeerSample[], now: number): boolean {
  const peer = peerPace(a, peers)
  if (!peer) return false
  const lagMs = Math.max(LAGGARD_MARGIN_MS, LAGGARD_LAG * peer.paceMs)
  const dueMs = Math.max(peer.lastEndedMs, a.startedMs + peer.paceMs)
  return now - dueMs >= lagMs && now - a.lastProgressMs >= lagMs
}
