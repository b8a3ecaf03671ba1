import { FailureModel, ThroughputModel, attemptRisk, decideHedges, resolveAttemptRiskOptions, type AttemptRisk } from '@tessera/predict'
import { isLaggard, type PeerSample } from './laggard.js'

/** What the scheduler knows of one endpoint: its models (fed by finished attempts) and its healthy progress gap. */
export interface EndpointView {
  readonly failures: FailureModel
  readonly throughput: ThroughputModel
  /**
   * Learned longest silence of a healthy attempt on this endpoint (EWMA over successful attempts:
   * request waits, server processing), ms; undefined until one succeeded.
   */
  readonly healthyGapMs: number | undefined
  /**
   * Learned longest silence *between body slices* of a healthy attempt (EWMA), ms: what a stall
   * mid-body is judged against — shorter than {@link healthyGapMs}, which is usually the wait for
   * the answer after the body went out. Undefined until learned (then `healthyGapMs` stands in).
   */
  readonly healthyBodyGapMs?: number | undefined
}

/** A running attempt as the scheduler sees it (a snapshot; see `Attempt`). */
export interface AttemptView {
  readonly partition: number
  readonly attempt: number
  readonly endpoint: string
  /** The partition's length, bytes. */
  readonly totalBytes: number
  /** Bytes of the partition the server acknowledged on this attempt or that its socket took, bytes. */
  readonly progressBytes: number
  readonly startedMs: number
  /** Clock value of its last progress (start, POST/HEAD answer, body slice taken, PATCH answer), ms. */
  readonly lastProgressMs: number
}

/** A partition in flight: its running attempts and how many hedges it had. */
export interface PartitionView {
  readonly partition: number
  readonly totalBytes: number
  readonly running: readonly AttemptView[]
  /** Hedges started for this partition so far (running or ended). */
  readonly hedges: number
}

/** What a hedge decision is made against. */
export interface HedgeInputs {
  readonly now: number
  readonly endpoints: readonly string[]
  readonly models: (endpoint: string) => EndpointView
  readonly partitions: readonly PartitionView[]
  /** Upload bytes (known size, or bytes read so far), and hedge bytes already committed. */
  readonly uploadBytes: number
  readonly committedBytes: number
  readonly threshold: number
  readonly budgetFraction: number
  /** The upload's completed partitions, for laggard judgement ({@link isLaggard}). Default none. */
  readonly peers?: readonly PeerSample[]
}

/** One hedge to start. */
export interface HedgePlan {
  readonly partition: number
  /** The attempt being hedged. */
  readonly attempt: AttemptView
  readonly toEndpoint: string
  readonly risk: AttemptRisk
  readonly deadlineMs: number
  /** Bytes the hedge will send (the whole partition: a hedge is a new partial from offset 0). */
  readonly hedgeBytes: number
  /** Chosen as a laggard behind its finished peers ({@link isLaggard}), whatever its modelled risk. */
  readonly laggard: boolean
}

/** Scores of every running attempt, and the hedges chosen. */
export interface HedgeRound {
  readonly scores: ReadonlyMap<AttemptView, { readonly risk: AttemptRisk; readonly deadlineMs: number }>
  readonly plans: readonly HedgePlan[]
  /**
   * Attempts all but certainly dead (P(dead) ≥ {@link ABANDON_DEAD}) that no hedge of this round
   * covers: the loop aborts them as stalled, and their partition resumes elsewhere from the
   * server's offset — a retry that re-sends nothing, decided long before the stall timeout.
   */
  readonly abandon: readonly AttemptView[]
  readonly budgetBytes: number
  /** Committed hedge bytes after these plans. */
  readonly committedBytes: number
}

/** Deadline floor: no attempt is expected faster than this (RTT + server work), ms. */
export const DEADLINE_FLOOR_MS = 2000
/** The deadline is the time at this quantile of the endpoint's predictive throughput (a slow-but-normal attempt). */
const DEADLINE_QUANTILE = 0.1
/** At most this many hedges per partition over its life; at most one runs at a time. */
export const MAX_HEDGES_PER_PARTITION = 2
/**
 * P(dead) at which a running attempt is abandoned (aborted as stalled and retried from the
 * server's offset) when no hedge covers it (one whose body is all sent: also silent for its deadline) — the budget is spent, or it already had its hedges.
 * With a learned healthy gap of ≤ 200 ms this is reached after ≈ 1–1.5 s of silence, against the
 * 15 s stall timeout. A mistake costs a HEAD and a new connection, never acknowledged bytes.
 */
export const ABANDON_DEAD = 0.99
/** Floor of the healthy progress gap fed to the stall term (one TCP retransmission timeout), ms. */
const MIN_PROGRESS_GAP_MS = 200

const riskOptions = resolveAttemptRiskOptions({ minProgressGapMs: MIN_PROGRESS_GAP_MS })

/**
 * An attempt's deadline, ms from its start: the time `totalBytes` take at the endpoint's
 * {@link DEADLINE_QUANTILE} predictive throughput (slower than 90 % of what it has shown), at
 * least {@link DEADLINE_FLOOR_MS}. With the prior (nothing learned, 1 MB/s median, wide) that is
 * ~9 s per MiB; it tightens as attempts finish.
 */
export function attemptDeadlineMs(totalBytes: number, throughput: ThroughputModel): number {
  const slow = throughput.predictiveQuantile(DEADLINE_QUANTILE)
  return Math.max(DEADLINE_FLOOR_MS, (totalBytes * 1000) / slow)
}

/** Per-endpoint models, fed with every finished attempt (hedging reads them). */
export interface EndpointModels {
  readonly failures: FailureModel
  readonly throughput: ThroughputModel
  /** EWMA of the longest silence of a successful attempt (request waits, server work), ms; undefined until one succeeded. */
  readonly healthyGapMs?: number | undefined
  /** EWMA of the longest silence between body slices of a successful attempt, ms. */
  readonly healthyBodyGapMs?: number | undefined
}

/**
 * What the hedge loop knows of `endpoint`, decayed to `now`. Until an attempt succeeded there, its
 * throughput and healthy gap are borrowed from the slowest sibling that has them: the endpoints of
 * one upload front the same storage, so what a sibling just showed is a far better prior than the
 * vague default (an empirical-Bayes prior) — a stall on a fresh endpoint is judged in ≈ 0.6 s of
 * silence instead of ≈ 0.8 s in `bench/tail.ts`'s setup. The failure model is always its own.
 */
export function endpointView(models: ReadonlyMap<string, EndpointModels>, endpoint: string, now: number): EndpointView {
  const m = models.get(endpoint)
  const failures = (m?.failures ?? FailureModel.create()).decayTo(now)
  if (m?.healthyGapMs !== undefined) return { failures, throughput: m.throughput.decayTo(now), healthyGapMs: m.healthyGapMs, healthyBodyGapMs: m.healthyBodyGapMs }
  let sibling: EndpointModels | undefined
  for (const [e, s] of models) {
    if (e === endpoint || s.healthyGapMs === undefined) continue
    if (!sibling || s.throughput.medianBytesPerSecond < sibling.throughput.medianBytesPerSecond) sibling = s
  }
  const throughput = sibling?.throughput ?? m?.throughput ?? ThroughputModel.create()
  return { failures, throughput: throughput.decayTo(now), healthyGapMs: sibling?.healthyGapMs, healthyBodyGapMs: sibling?.healthyBodyGapMs }
}

/**
 * The progress gap fed to `attemptRisk`, floored: while the body is still going out, the endpoint's
 * learned silence between body slices (else its longest healthy silence); once it is all sent, its
 * longest healthy silence (the answer's wait is in it).
 */
function progressGapFor(view: EndpointView, sentAll: boolean): number | undefined {
  const gap = sentAll ? view.healthyGapMs : (view.healthyBodyGapMs ?? view.healthyGapMs)
  return gap === undefined ? undefined : Math.max(MIN_PROGRESS_GAP_MS, gap)
}

/** Risk of one running attempt now (`attemptRisk` with the client's deadline and progress gap). */
export function scoreAttempt(a: AttemptView, view: EndpointView, now: number): { risk: AttemptRisk; deadlineMs: number } {
  const deadlineMs = attemptDeadlineMs(a.totalBytes, view.throughput)
  const elapsedMs = Math.max(0, now - a.startedMs)
  const stalledMs = Math.min(elapsedMs, Math.max(0, now - a.lastProgressMs))
  const sentAll = a.progressBytes >= a.totalBytes
  const gap = progressGapFor(view, sentAll)
  const r = attemptRisk(
    {
      totalBytes: Math.max(1, a.totalBytes),
      // A running attempt is never complete: a body sent in full whose answer does not come is
      // judged by the stall term alone (one byte "remaining"; its miss term is meaningless there —
      // the finite-sample spread of one byte is huge — so it is dropped below).
      bytesAcked: Math.max(0, Math.min(a.totalBytes - 1, a.progressBytes)),
      elapsedMs,
      deadlineMs,
      stalledMs,
      ...(gap !== undefined && { progressGapMs: gap }),
    },
    view.failures,
    view.throughput,
    riskOptions,
  )
  const risk = sentAll ? { ...r, miss: 0, risk: r.failure } : r
  return { risk, deadlineMs }
}

/**
 * Where a hedge of an attempt on `from` goes: the endpoint other than `from` whose fresh attempt of
 * `totalBytes` has the lowest predicted risk (ties: endpoint order); `from` itself when it is the
 * only one (a fresh connection to it).
 */
export function hedgeTarget(from: string, totalBytes: number, endpoints: readonly string[], models: (e: string) => EndpointView, now: number): string {
  const others = endpoints.filter((e) => e !== from)
  if (others.length === 0) return from
  let best = others[0]!
  let bestRisk = Infinity
  for (const e of others) {
    const fresh: AttemptView = { partition: -1, attempt: -1, endpoint: e, totalBytes, progressBytes: 0, startedMs: now, lastProgressMs: now }
    const r = scoreAttempt(fresh, models(e), now).risk.risk
    if (r < bestRisk) {
      best = e
      bestRisk = r
    }
  }
  return best
}

/**
 * Longest shared silence discounted, ms. Beyond it a silence of every running attempt counts as
 * theirs again: the attempts left running may all be on one endpoint that died (the others'
 * partitions done), which must still be hedged or abandoned — a second later than alone.
 */
export const MAX_COMMON_SILENCE_MS = 1000

/**
 * The silence every running attempt shares, ms: now − the latest progress of any of them, when
 * two or more run (0 otherwise), at most {@link MAX_COMMON_SILENCE_MS}. When the client's event loop stalls (a long GC, hashing) or the
 * one gateway behind every endpoint pauses under load, every attempt goes quiet at once; scored
 * on its full silence each would look stalled, and the loop hedged and abandoned healthy attempts
 * (measured: 1 GiB SDK → gateway on this loaded 2-core machine, one hedge of a 64 MiB partition
 * and up to 3 abandoned attempts per upload, 12–15 % extra bytes, docs/performance.md). A stall
 * of one connection, or of one of several gateways, still shows: the others keep moving.
 */
export function commonSilenceMs(partitions: readonly PartitionView[], now: number): number {
  let latest = -Infinity
  let running = 0
  for (const p of partitions) {
    for (const a of p.running) {
      running++
      latest = Math.max(latest, a.lastProgressMs)
    }
  }
  return running >= 2 ? Math.min(MAX_COMMON_SILENCE_MS, Math.max(0, now - latest)) : 0
}

/**
 * One round of the hedge loop. Pure: scores every running attempt, and picks with `decideHedges`
 * (risk ≥ threshold, highest first) among partitions that have exactly one running attempt (so at
 * most one hedge runs per partition) and fewer than {@link MAX_HEDGES_PER_PARTITION} hedges so far.
 *
 * Budget granularity: a hedge sends a whole partition, which may exceed the whole budget (5 % of a
 * 40 MiB file is 2 MiB; partitions are 1–64 MiB). So a hedge may start while the committed bytes
 * are below the budget: each candidate is charged min(its partition, the budget left) in
 * `decideHedges`, and only one can take the last of it. Hedge bytes therefore stay below
 * budget + one partition (committed < budget before the last hedge, + its partition).
 */
export function planHedges(inputs: HedgeInputs): HedgeRound {
  const { now } = inputs
  const scores = new Map<AttemptView, { risk: AttemptRisk; deadlineMs: number }>()
  const candidates: { risk: number; hedgeBytes: number; attempt: AttemptView; detail: AttemptRisk; deadlineMs: number; partition: PartitionView; laggard: boolean }[] = []
  const common = commonSilenceMs(inputs.partitions, now)
  for (const p of inputs.partitions) {
    for (const a of p.running) {
      // Judged without the silence every running attempt shares — a pause of this process or of the
      // one server behind every endpoint, which no hedge can outrun: neither stalled nor late for it.
      const own = common > 0 ? { ...a, startedMs: a.startedMs + common, lastProgressMs: a.lastProgressMs + common } : a
      const s = scoreAttempt(own, inputs.models(a.endpoint), now)
      scores.set(a, s)
      if (p.running.length === 1 && p.hedges < MAX_HEDGES_PER_PARTITION) {
        // A laggard is hedged as if certain to fail: its peers already showed what it should take.
        const laggard = isLaggard(own, inputs.peers ?? [], now)
        candidates.push({ risk: laggard ? 1 : s.risk.risk, hedgeBytes: 0, attempt: a, detail: s.risk, deadlineMs: s.deadlineMs, partition: p, laggard })
      }
    }
  }
  // decideHedges, one pick at a time: each candidate is charged min(its partition, the budget
  // left), so hedges start while committed bytes are below the budget (see above).
  let committed = inputs.committedBytes
  let pool = candidates
  const chosen: typeof candidates = []
  let budgetBytes = Math.floor(inputs.uploadBytes * inputs.budgetFraction)
  for (;;) {
    const left = budgetBytes - committed
    for (const c of pool) c.hedgeBytes = left > 0 ? Math.min(c.partition.totalBytes, left) : c.partition.totalBytes
    const decision = decideHedges(pool, { uploadBytes: inputs.uploadBytes, spentBytes: committed }, { riskThreshold: inputs.threshold, budgetFraction: inputs.budgetFraction })
    budgetBytes = decision.budgetBytes
    const pick = decision.hedge[0]
    if (!pick) break
    chosen.push(pick)
    committed += pick.partition.totalBytes
    pool = pool.filter((c) => c !== pick)
  }
  const hedged = new Set(chosen.map((c) => c.attempt))
  // An attempt whose body the socket has taken in full may be draining it from kernel buffers with
  // nothing to see: it must also have been silent for its deadline (the whole partition at the
  // endpoint's slow rate), which bounds any drain.
  const abandon = [...scores]
    .filter(([a, s]) => s.risk.dead >= ABANDON_DEAD && !hedged.has(a) && (a.progressBytes < a.totalBytes || now - a.lastProgressMs >= s.deadlineMs))
    .map(([a]) => a)
  const plans = chosen.map((c) => ({
    partition: c.partition.partition,
    attempt: c.attempt,
    toEndpoint: hedgeTarget(c.attempt.endpoint, c.partition.totalBytes, inputs.endpoints, inputs.models, now),
    risk: c.detail,
    deadlineMs: c.deadlineMs,
    hedgeBytes: c.partition.totalBytes,
    laggard: c.laggard,
  }))
  return { scores, plans, abandon, budgetBytes, committedBytes: committed }
}
