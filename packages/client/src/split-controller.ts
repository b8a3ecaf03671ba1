import type { Attempt } from './attempt.js'
import type { Clock, Timers } from './ports.js'
import type { TrackedRun } from './runner-context.js'
import { cutDecision, type ProgressSample, type SplitThresholds } from './split-decision.js'
import { TickLoop } from './tick-loop.js'

/** What the split loop reads from its upload. */
export interface SplitHost {
  readonly clock: Clock
  readonly timers: Timers
  readonly intervalMs: number
  readonly thresholds: SplitThresholds
  /** No splits while paused. */
  paused(): boolean
}

/**
 * The split loop of one upload (seed 001 §1, docs/client.md "Splits"): every `intervalMs` it
 * samples the progress of each partition's lone running attempt while its PATCH is in flight and
 * asks the partition to split ({@link TrackedRun.split}) when {@link cutDecision} says it runs
 * far longer than a partition should; the attempt then decides with the server's offset
 * ({@link splitDecision}).
 */
export class SplitController {
  readonly #runs = new Set<TrackedRun>()
  readonly #samples = new Map<Attempt, ProgressSample[]>()
  readonly #loop: TickLoop
  /** Splits asked. */
  asked = 0

  constructor(private readonly host: SplitHost) {
    this.#loop = new TickLoop(host.timers, host.intervalMs, () => this.tick())
  }

  start(): void {
    this.#loop.start()
  }

  stop(): void {
    this.#loop.stop()
  }

  track(run: TrackedRun): void {
    this.#runs.add(run)
  }

  untrack(run: TrackedRun): void {
    this.#runs.delete(run)
    for (const a of this.#samples.keys()) if (a.partition === run.p.index) this.#samples.delete(a)
  }

  /** One round. Public so tests can drive it with their own clock. */
  tick(): void {
    if (this.host.paused()) return
    const now = this.host.clock()
    const live = new Set<Attempt>()
    for (const run of this.#runs) {
      if (run.running.size !== 1 || run.p.done || run.cutting) continue
      const [a] = run.running as unknown as [Attempt]
      if (!a.deferred || a.lengthDeclared || a.splitAsks >= 2 || a.cutPatch === undefined || a.lost) continue
      live.add(a)
      let samples = this.#samples.get(a)
      if (!samples) this.#samples.set(a, (samples = []))
      samples.push({ atMs: now, bytes: a.progressBytes })
      // Keep one sample older than the window, drop the rest before it.
      const windowMs = this.host.thresholds.windowMs
      while (samples.length > 2 && now - samples[1]!.atMs >= windowMs) samples.shift()
      const verdict = cutDecision(samples, { startedMs: a.patchStartedMs }, run.totalBytes, this.host.thresholds)
      if (verdict.cut && run.split(a, { patchMs: now - a.patchStartedMs, socketRateBps: verdict.socketRateBps })) this.asked += 1
    }
    for (const a of this.#samples.keys()) if (!live.has(a)) this.#samples.delete(a)
  }
}
