import { decodeBase64, encodeBase64, partitionListBytes, TesseraMetadataKey, type UploadMetadata } from '@tessera/protocol'
import { FailureModel, ThroughputModel } from '@tessera/predict'
import PQueue from 'p-queue'
import { ConcurrencyController } from './concurrency-controller.js'
import { discoverEndpoints } from './discovery.js'
import { ClientError, isRetriable } from './errors.js'
import type { ResolvedUploadOptions } from './options.js'
import { RangeData, StreamData, cutPartition, short, type Partition } from './partition.js'
import type { Attempt } from './attempt.js'
import { HedgeController } from './hedge-controller.js'
import { endpointView, type EndpointModels, type EndpointView } from './hedge-scheduler.js'
import { partitionMetadata, rebase } from './partials.js'
import { runPartition } from './partition-runner.js'
import type { AttemptOutcome, HedgeHooks, RunnerContext, SplitReason } from './runner-context.js'
import { digestRange } from './partition-split.js'
import { Partitioner } from './partitioner.js'
import { SplitController } from './split-controller.js'
import type { SplitThresholds } from './split-decision.js'
import type { Clock, Hash, HashFactory, HttpTransport, StateStore, Timers, UploadSource } from './ports.js'
import { stateKey, toHex, type ResumeState } from './resume-state.js'
import { StateWriter } from './state-writer.js'
import { TusClient } from './tus-client.js'
import { BearerToken } from './bearer-token.js'
import { UploadEmitter } from './upload-events.js'

/** What `done` resolves. */
export interface UploadResult {
  /** URL of the finished upload (the final concatenation, or the one upload in sequential mode). */
  readonly url: string
  /** Bytes uploaded. */
  readonly size: number
  /**
   * SHA-256 of the whole source, lower-case hex: in sequential mode, and in parallel mode with
   * `integrity: 'sha256'` (or a server that cannot check partition lists); undefined otherwise.
   */
  readonly sha256: string | undefined
  /**
   * The partition-list digest the final was checked against (parallel mode), lower-case hex: the
   * SHA-256 of `partitionListBytes()` of @tessera/protocol over the partitions' offsets, lengths and
   * SHA-256s. Undefined in sequential mode.
   */
  readonly partitionsSha256: string | undefined
}

/** The platform ports an {@link Upload} runs on; entry points bind them. */
export interface UploadPorts {
  readonly transport: HttpTransport
  readonly hash: HashFactory
  /** Null: no resume state. */
  readonly stateStore: StateStore | null
  readonly clock: Clock
  /** Timers of the hedge loop. Default: the global `setTimeout`/`clearTimeout`. */
  readonly timers?: Timers
}


const RATE_WINDOW_MS = 1000
/** Weight of the newest successful attempt in the healthy-gap EWMA. */
const GAP_WEIGHT = 0.3
/** A DELETE of a lost partial may take this long before it is given up (the gateway's expiry reclaims it), ms. */
const TERMINATE_TIMEOUT_MS = 5000
/** The signal of requests nothing aborts but their own timeout (a cancelled upload's DELETEs). */
const NEVER_ABORTED = new AbortController().signal
/** Split a partition whose rest would take more than this many `targetPartitionMs` at its recent rate. */
const SPLIT_FACTOR = 3
/** The rate a split is judged by is measured over at least this long, ms. */
const SPLIT_WINDOW_MS = 1000
const globalTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
}

/**
 * One upload: discovery, partitioning, scheduling, final concatenation, resume state. Created and
 * started by `upload()`; `done` settles once. Events: see {@link UploadEventMap}.
 */
export class Upload extends UploadEmitter implements RunnerContext {
  /** Resolves when the server has the whole upload; rejects with a {@link ClientError}. */
  readonly done: Promise<UploadResult>
  readonly tus: TusClient
  readonly clock: Clock
  readonly hash: HashFactory
  endpoints: readonly string[]
  checksum = false
  partitionsVerified = false
  lengthTrailers = false
  /** Set once the source is open (see {@link RunnerContext.streamedPatchBytes}). */
  streamedPatchBytes = 0
  concat: 'partial' | undefined = 'partial'
  sessionId = ''
  splitting = false

  readonly #ports: UploadPorts
  readonly #abort = new AbortController()
  #pause = new AbortController()
  #stop = new AbortController()
  #signal: AbortSignal
  #paused: { promise: Promise<void>; resolve: () => void } | undefined
  #fatal: unknown
  #failFast: ((err: unknown) => void) | undefined
  #queue: PQueue | undefined
  readonly #partitioner: Partitioner
  readonly #concurrency: ConcurrencyController
  /** Per-endpoint models: this upload's own, or its session's (shared with other uploads). */
  readonly #models: Map<string, EndpointModels>
  #partitions: Partition[] = []
  /** Where the resume state goes; undefined without a store or a fingerprint. */
  #state: StateWriter | undefined
  #fingerprint = ''
  #size: number | undefined
  /** Size as declared at the start (undefined for a stream of unknown length); part of the state's identity. */
  #declaredSize: number | undefined
  #mode: 'parallel' | 'sequential' = 'parallel'
  /** Parallel mode: the whole file is hashed too, and the final carries that instead of the partition list. */
  #wholeFileSha256 = false
  #bytesAcked = 0
  #rate = { bps: 0, at: 0 }
  #hedger: HedgeController | undefined
  #splitter: SplitController | undefined
  /** Every queued partition's task (the producer's and the splits'). */
  readonly #tasks: Promise<void>[] = []
  /** The next free partition index (splits take indices too, so indices are not file order). */
  #nextIndex = 0
  /** Bytes read from the source so far (the hedge budget of a stream of unknown size). */
  #readBytes = 0
  #bytesSent = 0
  #bytesUseful = 0
  #terminations: Promise<void>[] = []
  #terminated = 0
  #terminateFailed = 0
  /** `cancel()` was called: the run discards what it made before `done` settles. */
  #cancelled = false
  // Sequential mode: the whole-file hash advances as bytes are acknowledged in order.
  #seqHash: Hash | undefined
  #hashedUpTo = 0

  private constructor(
    private readonly openSource: () => Promise<UploadSource>,
    readonly options: ResolvedUploadOptions,
    ports: UploadPorts,
  ) {
    super()
    this.#ports = ports
    this.clock = ports.clock
    this.hash = ports.hash
    this.endpoints = options.endpoints
    this.#signal = this.#combined()
    this.tus = this.#tusClient(() => this.#signal)
    this.#models = options.session?.models ?? new Map()
    this.#partitioner = new Partitioner(options)
    this.#concurrency = new ConcurrencyController({ initial: options.initialConcurrency, min: options.minConcurrency, max: options.maxConcurrency })
    const external = options.signal
    if (external) {
      if (external.aborted) this.abort()
      else external.addEventListener('abort', () => this.abort(), { once: true })
    }
    this.done = Promise.resolve().then(() => this.#run())
    this.done.catch(() => {}) // the caller may attach later; never an unhandled rejection
  }

  /** Creates and starts an upload. */
  static start(openSource: () => Promise<UploadSource>, options: ResolvedUploadOptions, ports: UploadPorts): Upload {
    return new Upload(openSource, options, ports)
  }

  /** Stops sending: in-flight requests are aborted (what they had acknowledged stays). */
  pause(): void {
    if (this.#paused || this.#abort.signal.aborted) return
    let resolve!: () => void
    const promise = new Promise<void>((r) => (resolve = r))
    this.#paused = { promise, resolve }
    this.#queue?.pause()
    this.#pause.abort(new ClientError('CLIENT_ERR_ABORTED', 'paused'))
  }

  /** Continues after `pause()`: in-flight partitions resume from the server's offset. */
  resume(): void {
    const paused = this.#paused
    if (!paused) return
    this.#paused = undefined
    this.#pause = new AbortController()
    this.#signal = this.#combined()
    this.#queue?.start()
    paused.resolve()
  }

  /**
   * Cancels for good, as @uppy/tus does when a file is removed: aborts (`done` rejects with
   * `CLIENT_ERR_ABORTED`) and, before `done` settles, terminates (tus DELETE) the partials and the
   * upload the servers hold for it and deletes its resume state, so a later run starts afresh.
   * Resolves once that is done; after `done` resolved (the upload finished) it changes nothing. A
   * server that cannot be reached keeps its partials until they expire there.
   */
  cancel(): Promise<void> {
    this.#cancelled = true
    this.abort()
    return this.done.then(
      () => {},
      () => {},
    )
  }

  /** Aborts: `done` rejects with `CLIENT_ERR_ABORTED`; the resume state is kept for a later run. */
  abort(): void {
    if (this.#abort.signal.aborted) return
    this.#abort.abort(new ClientError('CLIENT_ERR_ABORTED', 'the upload was aborted'))
    this.#paused?.resolve()
    this.#queue?.clear()
  }

  /** Bytes acknowledged so far (including those of an earlier run). */
  get bytesAcked(): number {
    return this.#bytesAcked
  }

  /** Snapshot of the per-endpoint models. */
  endpointModels(): ReadonlyMap<string, EndpointModels> {
    return new Map(this.#models)
  }

  /** The hedge loop (parallel mode with `hedging`), for tests and tools that drive or inspect it. */
  get hedges(): (HedgeHooks & HedgeController) | undefined {
    return this.#hedger
  }

  // ---- RunnerContext -------------------------------------------------------------------------

  sentBytes(bytes: number, useful: number): void {
    this.#bytesSent += bytes
    this.#bytesUseful += useful
  }

  terminate(a: Attempt, url: string): void {
    const ref = { partition: a.partition, attempt: a.attempt, endpoint: a.endpoint, url }
    const settled = this.tus.terminate(url, AbortSignal.timeout(TERMINATE_TIMEOUT_MS)).then(
      (existed) => {
        this.#terminated += 1
        this.emit('attempt-terminated', { ...ref, result: existed ? 'deleted' : 'gone', code: undefined })
      },
      (err: unknown) => {
        this.#terminateFailed += 1
        this.emit('attempt-terminated', { ...ref, result: 'failed', code: err instanceof ClientError ? err.code : 'CLIENT_ERR_NETWORK' })
      },
    )
    this.#terminations.push(settled)
  }

  metadataFor(p: Partition, attempt: number, deferred: boolean): UploadMetadata {
    return this.#mode === 'parallel' ? partitionMetadata(this.sessionId, p, attempt, { deferred, wholeFileSha256: this.#wholeFileSha256 }) : { ...this.options.metadata }
  }

  /** The split loop (parallel mode, when splitting is possible), for tests and tools. */
  get splits(): SplitController | undefined {
    return this.#splitter
  }

  get splitThresholds(): SplitThresholds {
    const o = this.options
    return { targetPartitionMs: o.targetPartitionMs, factor: SPLIT_FACTOR, minPartitionBytes: o.minPartitionBytes, windowMs: Math.max(SPLIT_WINDOW_MS, 4 * o.hedgeIntervalMs) }
  }

  async split(p: Partition, at: number, sha256: string, by: Attempt, why: SplitReason | undefined): Promise<void> {
    const lengthBefore = p.data.length!
    const rest = p.data.slice!(at, lengthBefore)
    const restBytes = lengthBefore - at
    // The link just showed this rate: partitions cut from now on are sized by it.
    if (why && why.rateBps > 0) this.#partitioner.observeTransfer(why.rateBps, 1000)
    const n = this.endpoints.length
    const from = this.endpoints.indexOf(by.endpoint)
    // The rest goes to the other endpoints first: the one that degraded is where it was slow.
    const homes = n > 1 ? [...Array(n).keys()].filter((i) => i !== from) : [0]
    const tails: { p: Partition; sizing: ReturnType<Partitioner['next']> }[] = []
    for (let off = 0; off < restBytes; ) {
      const sizing = this.#partitioner.next(restBytes - off, this.#concurrency.level)
      const length = Math.min(sizing.bytes, restBytes - off)
      const data = rest.slice!(off, off + length)
      const tail: Partition = { index: -1, offset: p.offset + at + off, data, sha256: await digestRange(this.hash, data, length), home: homes[tails.length % homes.length]!, url: undefined, acked: 0, done: false }
      tails.push({ p: tail, sizing })
      off += length
    }
    // Every await is behind: the partition shrinks and its rest appears in one step, so a state
    // written meanwhile never has a gap.
    const cut = tails.map((t) => ({ ...t, p: { ...t.p, index: this.#nextIndex++ } }))
    p.data = p.data.slice!(0, at)
    p.sha256 = sha256
    this.#partitions.splice(this.#partitions.indexOf(p) + 1, 0, ...cut.map((t) => t.p))
    for (const t of cut) this.emit('partition', { index: t.p.index, offset: t.p.offset, length: t.p.data.length!, origin: 'split', sizing: t.sizing, concurrency: this.#concurrency.level })
    this.emit('partition-split', {
      partition: p.index,
      at,
      offset: p.offset,
      lengthBefore,
      endpoint: by.endpoint,
      rateBps: why?.rateBps ?? 0,
      remainingMs: why?.remainingMs ?? 0,
      newPartitions: cut.map((t) => ({ index: t.p.index, offset: t.p.offset, length: t.p.data.length! })),
    })
    // On disk before any of the new partitions is created (docs/client.md, resume invariants).
    await this.persist()
    for (const t of cut) this.#enqueue(t.p)
  }

  acknowledged(p: Partition, from: number, bytes: Uint8Array): void {
    const delta = p.acked - from
    if (this.#seqHash && from === this.#hashedUpTo && bytes.length === delta) {
      this.#seqHash.update(bytes)
      this.#hashedUpTo += delta
    }
    this.#bytesAcked += delta
    const now = this.clock()
    const dt = Math.max(1, now - this.#rate.at)
    const w = 1 - Math.exp(-dt / RATE_WINDOW_MS)
    this.#rate = { bps: this.#rate.at === 0 ? 0 : this.#rate.bps + w * ((delta * 1000) / dt - this.#rate.bps), at: now }
    this.emit('progress', { bytesAcked: this.#bytesAcked, bytesTotal: this.#size, rateBps: this.#rate.bps })
  }

  async beforeSend(p: Partition, from: number): Promise<void> {
    if (!this.#seqHash) return
    while (this.#hashedUpTo < from) {
      const { bytes } = await p.data.chunk(this.#hashedUpTo, Math.min(this.options.chunkBytes, from - this.#hashedUpTo))
      if (bytes.length === 0) throw short(this.#hashedUpTo, from)
      this.#seqHash.update(bytes)
      this.#hashedUpTo += bytes.length
    }
  }

  persist(): Promise<void> {
    return this.#state?.persist() ?? Promise.resolve()
  }

  observe(endpoint: string, outcome: AttemptOutcome): void {
    const now = this.clock()
    const m: EndpointModels = this.#models.get(endpoint) ?? { failures: FailureModel.create(), throughput: ThroughputModel.create() }
    if (outcome.ok) {
      const throughput = outcome.bytes > 0 ? m.throughput.observe((outcome.bytes * 1000) / outcome.durationMs, now) : m.throughput
      const ewma = (old: number | undefined, sample: number): number => (old === undefined ? sample : old + GAP_WEIGHT * (sample - old))
      const healthyGapMs = ewma(m.healthyGapMs, outcome.maxGapMs)
      const healthyBodyGapMs = ewma(m.healthyBodyGapMs, outcome.maxBodyGapMs)
      this.#models.set(endpoint, { failures: m.failures.observe('success', now), throughput, healthyGapMs, healthyBodyGapMs })
    } else {
      this.#models.set(endpoint, { ...m, failures: m.failures.observe('failure', now) })
      this.options.session?.forgetEndpoint(endpoint)
      this.#partitioner.observeFailure()
      this.#setConcurrency(this.#concurrency.onFailure(), 'failure')
    }
  }

  observeRequest(kind: 'rtt' | 'transfer', durationMs: number, bytes: number): void {
    if (kind === 'rtt') this.#partitioner.observeRtt(durationMs)
    else this.#partitioner.observeTransfer(bytes, durationMs)
  }

  async gate(): Promise<void> {
    for (;;) {
      const err = this.abortError()
      if (err) throw err
      if (!this.#paused) return
      await this.#paused.promise
    }
  }

  pausedDuring(err: unknown): boolean {
    return err instanceof ClientError && err.code === 'CLIENT_ERR_ABORTED' && !this.#abort.signal.aborted && !this.#stop.signal.aborted
  }

  abortError(): ClientError | undefined {
    if (this.#abort.signal.aborted) return this.#abort.signal.reason as ClientError
    if (this.#stop.signal.aborted) return this.#stop.signal.reason as ClientError
    return undefined
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const signal = AbortSignal.any([this.#abort.signal, this.#stop.signal])
      if (signal.aborted) return reject(this.abortError())
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      const onAbort = (): void => {
        clearTimeout(timer)
        reject(this.abortError())
      }
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  // ---- the run -------------------------------------------------------------------------------

  async #run(): Promise<UploadResult> {
    const source = await this.openSource()
    try {
      const result = await this.#upload(source)
      await this.#state?.delete()
      return result
    } catch (err) {
      this.#stopAll(err)
      // What was acknowledged is on disk so a re-run resumes it — unless cancelled.
      await this.#state?.settled()
      if (this.#cancelled) await this.#discard()
      throw this.#abort.signal.aborted ? this.abortError() : err
    } finally {
      await source.close().catch(() => {})
    }
  }

  async #upload(source: UploadSource): Promise<UploadResult> {
    const o = this.options
    this.#size = source.kind === 'random' ? source.size : (o.size ?? source.size)
    this.#declaredSize = this.#size
    // A session that knows every endpoint spares the OPTIONS round trip (it forgets one that failed).
    const known = o.session?.knownEndpoints(o.endpoints, this.clock())
    const caps = known ?? (await discoverEndpoints(this, o))
    if (!known) o.session?.rememberEndpoints(caps, this.clock())
    this.#mode = caps.every((c) => c.capabilities.concatenation) ? 'parallel' : 'sequential'
    this.endpoints = this.#mode === 'parallel' ? caps.map((c) => c.endpoint) : [caps[0]!.endpoint]
    const used = this.#mode === 'parallel' ? caps : caps.slice(0, 1)
    this.checksum = o.checksum && used.every((c) => c.capabilities.sha256)
    this.partitionsVerified = this.#mode === 'parallel' && used.every((c) => c.capabilities.reconciliation)
    this.concat = this.#mode === 'parallel' ? 'partial' : undefined
    this.#wholeFileSha256 = this.#mode === 'parallel' && (o.integrity === 'sha256' || !used.every((c) => c.capabilities.partitionList))
    this.splitting = this.#mode === 'parallel' && this.partitionsVerified && o.splitting && used.every((c) => c.capabilities.deferLength)
    this.lengthTrailers = this.splitting && this.#ports.transport.sendsTrailers === true && used.every((c) => c.capabilities.lengthTrailer)
    const { transport } = this.#ports
    this.streamedPatchBytes = transport.streamsBodies || (transport.sendsBlobs && source.kind === 'random' && source.blob !== undefined) ? Number.POSITIVE_INFINITY : o.chunkBytes
    if (this.#mode === 'sequential' && this.#size === undefined && !caps[0]!.capabilities.deferLength) {
      throw new ClientError('CLIENT_ERR_UNSUPPORTED_SERVER', `${caps[0]!.endpoint} supports neither concatenation nor creation-defer-length: a stream of unknown size cannot be uploaded; pass \`size\``)
    }
    for (const c of caps) {
      const { extensions, checksumAlgorithms, maxSize } = c.capabilities
      this.emit('capabilities', { endpoint: c.endpoint, extensions, checksumAlgorithms, maxSize, mode: this.#mode })
    }

    const fingerprint = o.fingerprint ?? source.fingerprint
    const store = this.#ports.stateStore
    let state: ResumeState | undefined
    if (store && fingerprint !== undefined) {
      this.#fingerprint = fingerprint
      this.#state = new StateWriter(store, stateKey(this.hash, fingerprint, o.endpoints), () => this.#snapshot())
      state = await this.#state.load({ fingerprint, size: this.#declaredSize })
      if (state && state.mode !== this.#mode) state = undefined
    }
    this.sessionId = state?.sessionId ?? randomId()
    if (state && this.#state) {
      this.emit('resume', {
        key: this.#state.key,
        partitionsDone: state.partitions.filter((p) => p.done).length,
        partitionsStarted: state.partitions.filter((p) => !p.done && p.url !== undefined).length,
      })
    }
    return this.#mode === 'parallel' ? this.#parallel(source, state) : this.#sequential(source, state)
  }

  /** Runs `fn` with the retry delays for retriable errors (discovery, final). */
  async #retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; failures++) {
      await this.gate()
      try {
        return await fn()
      } catch (err) {
        const aborted = this.abortError()
        if (aborted) throw aborted
        if (this.pausedDuring(err)) continue
        if (!isRetriable(err) || failures >= this.options.retryDelaysMs.length) throw err
        await this.sleep(this.options.retryDelaysMs[failures]!)
      }
    }
  }

  async #parallel(source: UploadSource, state: ResumeState | undefined): Promise<UploadResult> {
    const o = this.options
    const whole = this.#wholeFileSha256 ? this.hash() : undefined
    const queue = new PQueue({ concurrency: this.#concurrency.level })
    this.#queue = queue
    if (this.#paused) queue.pause()
    const failed = new Promise<never>((_, reject) => (this.#failFast = reject))
    failed.catch(() => {})
    if (o.hedging) {
      this.#hedger = new HedgeController({
        clock: this.clock,
        timers: this.#ports.timers ?? o.timers ?? globalTimers,
        endpoints: this.endpoints,
        threshold: o.hedgeThreshold,
        budgetFraction: o.hedgeBudget,
        intervalMs: o.hedgeIntervalMs,
        models: (e, now) => this.#view(e, now),
        uploadBytes: () => this.#size ?? this.#readBytes,
        paused: () => this.#paused !== undefined,
        emit: (name, event) => this.emit(name, event),
      })
      this.#hedger.start()
    }
    if (this.splitting) {
      this.#splitter = new SplitController({
        clock: this.clock,
        timers: this.#ports.timers ?? o.timers ?? globalTimers,
        intervalMs: o.hedgeIntervalMs,
        thresholds: this.splitThresholds,
        paused: () => this.#paused !== undefined,
      })
      this.#splitter.start()
    }
    try {
      return await this.#parallelRun(source, state, queue, failed, whole)
    } finally {
      this.#hedger?.stop()
      this.#splitter?.stop()
    }
  }

  async #parallelRun(source: UploadSource, state: ResumeState | undefined, queue: PQueue, failed: Promise<never>, whole: Hash | undefined): Promise<UploadResult> {
    const o = this.options
    let offset = 0
    this.#nextIndex = (state?.partitions ?? []).reduce((n, p) => Math.max(n, p.index + 1), 0)
    // Stored partitions are replayed in file order with their own indices (a split's rest has
    // later indices than the partitions after it); new ones take the next free index.
    for (let position = 0; ; position++) {
      const stop = this.abortError()
      if (stop) throw stop
      if (this.#size !== undefined && offset >= this.#size && position > 0) break
      const stored = state?.partitions[position]
      const index = stored?.index ?? this.#nextIndex++
      // The partitions of the first round start together, so the file is shared evenly over the
      // slots still free (16 MiB over 4: 4 × 4 MiB, not 4, 3, 2.25, 1.75 MiB and a second wave);
      // later each is at most the rest over the concurrency, so the last ones finish together.
      const level = this.#concurrency.level
      const share = queue.pending + queue.size < level ? level - queue.pending - queue.size : level
      const sizing = stored ? undefined : this.#partitioner.next(this.#size === undefined ? undefined : this.#size - offset, share)
      const want = stored?.length ?? (this.#size === undefined ? Math.min(sizing!.bytes, o.streamPartitionMaxBytes) : sizing!.bytes)
      // Where its first attempt streams it with its digest in trailers, a new partition is hashed as
      // sent (each byte read once); a resumed one now, to check the source against the earlier run.
      const digest = this.lengthTrailers && !stored ? 'as-sent' : 'now'
      const { data, length, sha256, ended } = await cutPartition(source, offset, want, { hash: this.hash(), whole, declaredSize: this.#size, resumed: stored !== undefined, index, digest })
      if (ended && length === 0 && position > 0) break
      this.#readBytes = offset + length
      // A partition saved before its digest was known (hashed as sent) has none to compare: the
      // gateway still checks the bytes it has against the digest of the bytes read now.
      if (stored?.sha256 !== undefined && stored.sha256 !== sha256) {
        throw new ClientError('CLIENT_ERR_SOURCE', `the source changed since the earlier run: partition ${index} (${length} bytes at ${offset}) has another SHA-256`)
      }
      const p: Partition = { index, offset, data, sha256, home: index % this.endpoints.length, url: stored?.url, acked: stored?.done ? length : 0, done: stored?.done ?? false }
      this.#partitions.push(p)
      if (p.done) this.#bytesAcked += length
      this.emit('partition', { index, offset, length, origin: stored ? 'resumed' : 'new', sizing, concurrency: this.#concurrency.level })
      if (!stored) await this.persist()
      if (!p.done) {
        await queue.onSizeLessThan(1)
        this.#enqueue(p)
      }
      offset += length
      if (ended) break
    }
    if (source.kind === 'sequential' && this.#size !== undefined && (await source.next(1)).length > 0) {
      throw new ClientError('CLIENT_ERR_SOURCE', `the stream is longer than its declared size of ${this.#size} bytes`)
    }
    this.#size = offset
    // Splits queue partitions while others run: wait until no task was added meanwhile.
    for (let n = -1; n !== this.#tasks.length; ) {
      n = this.#tasks.length
      await Promise.race([Promise.all(this.#tasks), failed])
    }
    const stop = this.abortError() ?? (this.#fatal as Error | undefined)
    if (stop) throw stop
    this.emit('progress', { bytesAcked: this.#bytesAcked, bytesTotal: this.#size, rateBps: this.#rate.bps })

    const partitionsDigest = this.#partitionsDigest()
    const digest = whole?.digest()
    const metadata = { ...o.metadata, ...(digest ? { [TesseraMetadataKey.sha256]: encodeBase64(digest) } : { [TesseraMetadataKey.partitionsSha256]: encodeBase64(partitionsDigest) }) }
    let attempt = 0
    const url = await this.#retrying(() => {
      const endpoint = this.endpoints[attempt++ % this.endpoints.length]!
      // Partials are named on the final's own endpoint: a gateway resolves only URLs of its own origin.
      const uploads = this.#partitions.map((p) => rebase(p.url!, this.options.endpoints, endpoint))
      return this.tus.create(endpoint, { length: undefined, metadata, concat: { type: 'final', uploads } })
    })
    this.#hedger?.stop()
    // DELETEs of lost partials are best effort, each bounded by TERMINATE_TIMEOUT_MS.
    await Promise.all(this.#terminations)
    this.#emitDone(url, offset)
    return { url, size: offset, sha256: digest && toHex(digest), partitionsSha256: toHex(partitionsDigest) }
  }

  /** The partition-list digest of the partitions in file order (each has its SHA-256 in parallel mode). */
  #partitionsDigest(): Uint8Array {
    const h = this.hash()
    h.update(partitionListBytes(this.#partitions.map((p) => ({ offset: p.offset, length: p.data.length!, sha256: decodeBase64(p.sha256!)! }))))
    return h.digest()
  }

  async #sequential(source: UploadSource, state: ResumeState | undefined): Promise<UploadResult> {
    const stored = state?.partitions[0]
    const size = this.#size
    const data = source.kind === 'random' ? new RangeData(source, 0, source.size) : new StreamData(source, size)
    const p: Partition = { index: 0, offset: 0, data, sha256: undefined, home: 0, url: stored?.url, acked: 0, done: false }
    this.#partitions = [p]
    this.#seqHash = this.hash()
    this.emit('partition', { index: 0, offset: 0, length: size ?? -1, origin: stored ? 'resumed' : 'new', sizing: undefined, concurrency: 1 })
    if (!stored) await this.persist()
    await runPartition(this, p)
    const total = size ?? p.acked
    await this.beforeSend(p, total)
    if (source.kind === 'sequential' && size !== undefined && (await source.next(1)).length > 0) {
      throw new ClientError('CLIENT_ERR_SOURCE', `the stream is longer than its declared size of ${size} bytes`)
    }
    this.#size = total
    this.#emitDone(p.url!, total)
    return { url: p.url!, size: total, sha256: toHex(this.#seqHash.digest()), partitionsSha256: undefined }
  }

  #view(endpoint: string, now: number): EndpointView {
    return endpointView(this.#models, endpoint, now)
  }

  #emitDone(url: string, size: number): void {
    const h = this.#hedger
    const extraBytes = Math.max(0, this.#bytesSent - this.#bytesUseful)
    this.emit('done', {
      url,
      size,
      hedgesStarted: h?.started ?? 0,
      hedgesWon: h?.wonCount ?? 0,
      hedgeBytes: h?.hedgeBytes ?? 0,
      hedgeBudgetBytes: Math.floor(size * this.options.hedgeBudget),
      bytesSent: this.#bytesSent,
      extraBytes,
      extraRatio: size === 0 ? 0 : extraBytes / size,
      terminated: this.#terminated,
      terminateFailed: this.#terminateFailed,
    })
  }

  #enqueue(p: Partition): void {
    const task = this.#queue!.add(() => runPartition(this, p)).then(
      () => this.#partitionDone(),
      (err: unknown) => this.#stopAll(err),
    )
    this.#tasks.push(task)
  }

  #partitionDone(): void {
    this.#setConcurrency(this.#concurrency.onCompleted(this.#rate.bps), 'throughput')
  }

  #setConcurrency(level: number, reason: 'throughput' | 'failure'): void {
    const queue = this.#queue
    if (!queue || queue.concurrency === level) return
    this.emit('concurrency', { from: queue.concurrency, to: level, reason })
    queue.concurrency = level
  }

  /** The first fatal error stops everything: queued partitions are dropped, in-flight requests aborted. */
  #stopAll(err: unknown): void {
    if (this.#fatal !== undefined) return
    this.#fatal = err
    this.#queue?.clear()
    this.#stop.abort(err instanceof ClientError ? err : new ClientError('CLIENT_ERR_NETWORK', String(err), { cause: err }))
    this.#paused?.resolve()
    this.#failFast?.(err)
  }

  #combined(): AbortSignal {
    return AbortSignal.any([this.#abort.signal, this.#pause.signal, this.#stop.signal])
  }

  /** The tus client of this upload's requests, aborted by `signal`. */
  #tusClient(signal: () => AbortSignal): TusClient {
    const o = this.options
    return new TusClient(this.#ports.transport, { headers: o.headers, stallTimeoutMs: o.stallTimeoutMs, signal, ...(o.getToken && { token: new BearerToken(o.getToken) }) })
  }

  /**
   * After `cancel()`: DELETEs every upload of the partitions (bounded by TERMINATE_TIMEOUT_MS each,
   * failures ignored) on a client the cancel's abort does not cut short, then the resume state.
   */
  async #discard(): Promise<void> {
    const tus = this.#tusClient(() => NEVER_ABORTED)
    const urls = this.#partitions.flatMap((p) => (p.url === undefined ? [] : [p.url]))
    await Promise.all(urls.map((url) => tus.terminate(url, AbortSignal.timeout(TERMINATE_TIMEOUT_MS)).catch(() => false)))
    await this.#state?.delete()
  }

  #snapshot(): ResumeState {
    return {
      version: 1,
      fingerprint: this.#fingerprint,
      sessionId: this.sessionId,
      size: this.#declaredSize,
      mode: this.#mode,
      endpoints: this.options.endpoints,
      partitions: this.#partitions.map((p) => ({ index: p.index, offset: p.offset, length: p.data.length, url: p.url, sha256: p.sha256, acked: p.acked, done: p.done })),
      updatedAt: new Date(this.clock()).toISOString(),
    }
  }
}

/** Reads up to `length` bytes of a sequential source (fewer only at its end). */
function randomId(): string {
  const bytes = new Uint8Array(12)
  globalThis.crypto.getRandomValues(bytes)
  return toHex(bytes)
}
