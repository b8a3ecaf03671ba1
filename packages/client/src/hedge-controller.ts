import type { Attempt } from './attempt.js'
import { planHedges, type EndpointView, type PartitionView } from './hedge-scheduler.js'
import type { PeerSample } from './laggard.js'
import type { HedgeHooks, TrackedRun } from './runner-context.js'
import type { Clock, Timers } from './ports.js'
import type { UploadEventMap } from './upload-events.js'
import { TickLoop } from './tick-loop.js'

/** What the hedge loop reads from its upload. */
export interface HedgeHost {
  readonly clock: Clock
  readonly timers: Timers
  readonly endpoints: readonly string[]
  /** Options: `hedgeThreshold`, `hedgeBudget` (fraction), `hedgeIntervalMs`. */
  readonly threshold: number
  readonly budgetFraction: number
  readonly intervalMs: number
  /** The endpoint's models, decayed to `now`. */
  models(endpoint: string, now: number): EndpointView
  /** Bytes of the upload (its size, or bytes read so far for a stream of unknown size). */
  uploadBytes(): number
  /** No hedges while paused. */
  paused(): boolean
  emit<K extends keyof UploadEventMap>(name: K, event: UploadEventMap[K]): void
}

/**
 * The hedge loop of one upload: every `intervalMs` it scores every running attempt
 * ({@link planHedges}), starts the chosen hedges and abandons attempts judged dead that no hedge
 * covers (they retry from the server's offset, as after a stall timeout). Budget accounting: a running hedge reserves
 * its partition's length (what it can send at most: it is a new partial and never retries); when
 * it ends, the reservation becomes the bytes its sockets actually took. A hedge is started only
 * while ended hedges' bytes + running reservations are below ⌊uploadBytes × budgetFraction⌋, so
 * bytes sent by hedges stay below the budget + one partition (see `planHedges`; for a stream of
 * unknown size the budget is taken on the bytes read so far).
 */
export class HedgeController implements HedgeHooks {
  readonly #runs = new Set<TrackedRun>()
  readonly #reserved = new Map<Attempt, number>()
  /** The partitions completed so far: what a laggard is judged against. */
  readonly #peers: PeerSample[] = []
  #endedBytes = 0
  readonly #loop: TickLoop
  /** Hedges started / that won their partition. */
  started = 0
  wonCount = 0
  /** Body bytes sent by hedges, bytes. */
  hedgeBytes = 0
  /** The last budget computed, bytes. */
  budgetBytes = 0

  constructor(private readonly host: HedgeHost) {
    this.#loop = new TickLoop(host.timers, host.intervalMs, () => this.tick())
  }

  /** Starts the loop (idempotent). */
  start(): void {
    this.#loop.start()
  }

  /** Stops the loop; running hedges carry on. */
  stop(): void {
    this.#loop.stop()
  }

  /** Bytes committed to hedges: ended hedges' sent bytes + running hedges' reservations. */
  committedBytes(): number {
    let n = this.#endedBytes
    for (const [a, reserved] of this.#reserved) n += Math.max(reserved, a.sent)
    return n
  }

  track(run: TrackedRun): void {
    this.#runs.add(run)
  }

  untrack(run: TrackedRun): void {
    this.#runs.delete(run)
  }

  sent(a: Attempt, bytes: number): void {
    if (a.hedge) this.hedgeBytes += bytes
  }

  ended(a: Attempt): void {
    if (!a.hedge || !this.#reserved.has(a)) return
    this.#reserved.delete(a)
    this.#endedBytes += a.sent
  }

  won(a: Attempt, endedMs: number): void {
    if (a.hedge) this.wonCount += 1
    this.#peers.push({ bytes: a.sent, startedMs: a.startedMs, endedMs })
  }

  /** One round: score, decide, start hedges. Public so tests can drive it with their own clock. */
  tick(): void {
    if (this.host.paused()) return
    const now = this.host.clock()
    const runs = [...this.#runs].filter((r) => r.running.size > 0 && !r.p.done && r.totalBytes > 0)
    if (runs.length === 0) return
    const views = new Map<string, EndpointView>()
    const models = (e: string): EndpointView => {
      let v = views.get(e)
      if (!v) views.set(e, (v = this.host.models(e, now)))
      return v
    }
    const partitions: PartitionView[] = runs.map((r) => ({ partition: r.p.index, totalBytes: r.totalBytes, running: [...r.running], hedges: r.hedges }))
    const round = planHedges({
      now,
      endpoints: this.host.endpoints,
      models,
      partitions,
      uploadBytes: this.host.uploadBytes(),
      committedBytes: this.committedBytes(),
      threshold: this.host.threshold,
      budgetFraction: this.host.budgetFraction,
      peers: this.#peers,
    })
    this.budgetBytes = round.budgetBytes
    for (const [view, score] of round.scores) (view as Attempt).lastRisk = score.risk
    for (const a of round.abandon) {
      const run = runs.find((r) => r.p.index === a.partition)
      const score = round.scores.get(a)!
      run?.abandon(a as Attempt, score.risk.dead, now - a.lastProgressMs)
    }
    for (const plan of round.plans) {
      const run = runs.find((r) => r.p.index === plan.partition)
      const hedge = run?.hedge(plan.toEndpoint)
      if (!hedge) continue
      this.started += 1
      this.#reserved.set(hedge, plan.hedgeBytes)
      this.host.emit('hedge-start', {
        partition: plan.partition,
        attempt: hedge.attempt,
        hedged: plan.attempt.attempt,
        fromEndpoint: plan.attempt.endpoint,
        toEndpoint: plan.toEndpoint,
        risk: plan.risk.risk,
        dead: plan.risk.dead,
        miss: plan.risk.miss,
        deadlineMs: plan.deadlineMs,
        laggard: plan.laggard,
        budgetBytes: round.budgetBytes,
        committedBytes: this.committedBytes(),
      })
    }
  }
}
