import { Attempt, type SplitRequest } from './attempt.js'
import { ClientError, isRetriable } from './errors.js'
import { hashedBody, type Partition, type PartitionData } from './partition.js'
import { asClientError, isGone, isSuperseded, rebase, samePath, winnerPath, winnerProblem } from './partials.js'
import { cutAttempt, digestRange } from './partition-split.js'
import { sha256Base64 } from './resume-state.js'
import type { UploadHead } from './tus-client.js'
import type { RunnerContext, TrackedRun } from './runner-context.js'

const NOTHING = new Uint8Array(0)

/** Splits asked of one attempt at most (each cut costs the bytes in flight). */
const MAX_SPLIT_ASKS = 2

/** A lost attempt is judged dead (counted as a failure of its endpoint) at this P(dead) of its last score. */
const DEAD_LOSER = 0.5

/**
 * Uploads one partition to completion. See {@link PartitionRun}.
 * @throws ClientError the last error once retries are exhausted or the error is fatal.
 */
export function runPartition(ctx: RunnerContext, p: Partition): Promise<void> {
  return new PartitionRun(ctx, p).run()
}

/**
 * One partition's attempts. A primary attempt creates the partial (or HEADs the stored one and
 * continues), then PATCHes its bytes: against a gateway that verifies partition digests, the rest
 * of the partition in one PATCH streamed from the source (≤ `chunkBytes` where the transport cannot
 * stream a body); otherwise chunks of ≤ `chunkBytes`, each
 * read into a buffer and checksummed (`Upload-Checksum`). The hedge loop may add a
 * second attempt ({@link hedge}) — a new partial on another endpoint — while the first runs. The
 * first attempt to reach the partition's length with every PATCH accepted (checksums verified by
 * the server) wins: it becomes `p.url`; the others are aborted and DELETEd. When every running
 * attempt has failed, the partition is retried per `retryDelaysMs` on the next endpoint from the
 * failed attempt with the most acknowledged bytes (its URL, HEAD, continue); the other failed
 * partials are DELETEd. A lost partial (404/410) is created again. No acknowledged byte of the URL
 * being resumed is re-sent.
 *
 * When the gateway answers `410 TESSERA_ERR_SUPERSEDED` naming a winner (`Tessera-Winner`) that is
 * no running attempt — one an earlier run completed but did not record, another process's, or one
 * of this run that failed after the server completed it — the partition is not created again (the
 * gateway would supersede every new attempt): the named URL is HEADed and, if it is a complete
 * attempt of this partition, adopted as the winner (`winner-adopted`); if not, the partition fails
 * with `CLIENT_ERR_WINNER_INVALID`.
 *
 * Resume state: `p.url` is the *leader* — the attempt with the most acknowledged bytes (the winner
 * once done) — persisted after every acknowledged PATCH; the primary's URL is persisted before its
 * first PATCH. A hedge's URL reaches the state only once it leads: a crash may orphan a hedge
 * partial (the gateway's expiry reclaims it), never the bytes the state points to.
 */
export class PartitionRun implements TrackedRun {
  readonly running = new Set<Attempt>()
  /** Hedges started for this partition. */
  hedges = 0
  #next = 0
  #winner: Attempt | undefined
  #leader: Attempt | undefined
  /** Ended attempts that have a URL: resume candidates, else DELETEd. */
  #failed: Attempt[] = []
  #lastError: unknown
  #wake: (() => void) | undefined
  /** A winner the gateway named that is no running attempt; `winner` is its stand-in (never run), `by` the attempt told. */
  #named: { winner: Attempt; by: Attempt } | undefined

  constructor(
    private readonly ctx: RunnerContext,
    readonly p: Partition,
  ) {}

  /** The partition's length, bytes (0 while unknown). */
  get totalBytes(): number {
    return this.p.data.length ?? 0
  }

  async run(): Promise<void> {
    const { ctx, p } = this
    let failures = 0
    let retry = 0
    let resume: { url: string; acked: number } | undefined = p.url === undefined ? undefined : { url: p.url, acked: 0 }
    ctx.hedges?.track(this)
    ctx.splits?.track(this)
    try {
      while (!p.done) {
        await ctx.gate()
        const endpoint = ctx.endpoints[(p.home + retry) % ctx.endpoints.length]!
        const before = p.acked
        if (this.#named) {
          await this.#adoptNamed(endpoint)
        } else {
          this.#start(endpoint, false, resume)
          await this.#settled()
          // Verify and adopt it at the top of the loop; no failure to count.
          if (this.#named && !this.#winner) continue
        }
        if (this.#winner) return
        const aborted = ctx.abortError()
        if (aborted) throw aborted
        const caught = this.#lastError
        const from = this.#resumePoint()
        resume = from && { url: from.url!, acked: from.acked }
        if (ctx.pausedDuring(caught)) continue
        const err = asClientError(caught)
        if (p.acked > before) failures = 0
        failures += 1
        const lost = isGone(err)
        const delays = ctx.options.retryDelaysMs
        const willRetry = (lost || isRetriable(err)) && failures <= delays.length
        // An attempt the model abandoned moves to the next endpoint at once: backing off protects a
        // struggling server, and the silent one is left behind.
        const abandoned = this.#lastFailed?.abandoned !== undefined && ctx.endpoints.length > 1
        const retryInMs = willRetry ? (abandoned ? 0 : delays[failures - 1]!) : undefined
        const last = this.#lastFailed
        ctx.emit('attempt-failed', { partition: p.index, attempt: last?.attempt ?? 0, endpoint: last?.endpoint ?? endpoint, code: err.code, status: err.status, message: err.message, willRetry, retryInMs, siblings: 0 })
        if (!willRetry) throw err
        await ctx.persist()
        await ctx.sleep(retryInMs!)
        retry += 1
      }
    } finally {
      ctx.hedges?.untrack(this)
      ctx.splits?.untrack(this)
      for (const a of this.running) a.controller.abort(new ClientError('CLIENT_ERR_ABORTED', 'the partition stopped'))
    }
  }

  /**
   * Starts a hedge of this partition on `endpoint` (a new partial from offset 0). Returns undefined
   * when the partition no longer needs one (won, or no attempt running).
   */
  hedge(endpoint: string): Attempt | undefined {
    if (this.#winner || this.#named || this.p.done || this.running.size === 0 || this.cutting || this.ctx.abortError()) return undefined
    this.hedges += 1
    const now = this.ctx.clock()
    for (const a of this.running) a.hedgedAtMs ??= now
    return this.#start(endpoint, true, undefined)
  }

  /**
   * The hedge loop judged running attempt `a` dead (`dead` = P(dead) after `silentMs` of silence)
   * and no hedge covers it: it is aborted as stalled — counted against its endpoint like a stall
   * timeout — and the partition goes on from the server's offset (a sibling carries it, or the
   * retry loop HEADs and resumes on the next endpoint).
   */
  abandon(a: Attempt, dead: number, silentMs: number): void {
    if (!this.running.has(a) || a.lost || this.#winner) return
    a.abandoned = { dead, silentMs }
    a.controller.abort(new ClientError('CLIENT_ERR_STALLED', `attempt ${a.attempt} of partition ${this.p.index} abandoned: silent for ${Math.round(silentMs)} ms, P(dead) ${dead.toFixed(4)}`))
  }

  /**
   * Asks running attempt `a` to split (docs/client.md, "Splits"): its in-flight PATCH is cut, and
   * the attempt ends the partial at the server's offset, or carries on from it when that offset
   * leaves nothing worth re-partitioning. Only a deferred-length attempt that runs alone, at most
   * `MAX_SPLIT_ASKS` times.
   * @returns whether the split was asked.
   */
  split(a: Attempt, why: SplitRequest): boolean {
    if (!this.running.has(a) || this.running.size !== 1 || a.lost || this.#winner || this.#named || this.cutting) return false
    if (!a.deferred || a.lengthDeclared || a.splitAsks >= MAX_SPLIT_ASKS || !a.cutPatch) return false
    a.splitAsks += 1
    a.splitRequest = why
    this.cutting = true
    a.cutPatch(new ClientError('CLIENT_ERR_ABORTED', `attempt ${a.attempt} of partition ${this.p.index} is being split`))
    return true
  }

  /** A split of this partition is under way (no hedge meanwhile). */
  cutting = false

  #lastFailed: Attempt | undefined

  #start(endpoint: string, hedge: boolean, resume: { url: string; acked: number } | undefined): Attempt {
    const a = new Attempt(this.p.index, this.#next++, endpoint, this.totalBytes, hedge, this.ctx.clock())
    this.running.add(a)
    this.#attempt(a, resume).then(
      () => this.#ended(a, undefined),
      (err: unknown) => this.#ended(a, err),
    )
    return a
  }

  #settled(): Promise<void> {
    if (this.#winner || this.#named || this.running.size === 0) return Promise.resolve()
    return new Promise((resolve) => (this.#wake = resolve))
  }

  #ended(a: Attempt, err: unknown): void {
    const { ctx, p } = this
    this.running.delete(a)
    ctx.hedges?.ended(a)
    if (a === this.#winner) {
      // Adopted as the winner by the gateway's word while its own answer was pending (aborted then).
    } else if (a.lost) {
      if (a.url !== undefined && !a.completed) this.#terminate(a)
    } else if (err !== undefined && !this.#winner && isSuperseded(err) && winnerPath(err) !== undefined && !ctx.abortError()) {
      // The gateway verified another attempt first (server-side reconciliation) and freed this
      // attempt's bytes. A loss, not a failure of the endpoint.
      const named = winnerPath(err)
      const twin = [...this.running].find((o) => o.url !== undefined && new URL(o.url).pathname === named)
      if (twin) {
        // The gateway has the whole partition on the twin and verified it: that is the winner,
        // even if its own answer has not arrived (or never will).
        this.#lose(a, twin)
        this.#terminate(a)
        void this.#adopt(twin)
        return
      }
      // A winner this run is not running: creating the partition again would only be superseded
      // again. `run()` HEADs it and adopts it (or fails the partition).
      if (!this.#named) {
        const url = new URL((err as ClientError).winner!, a.url ?? a.endpoint).href
        const winner = new Attempt(p.index, this.#next++, a.endpoint, this.totalBytes, false, ctx.clock())
        winner.url = url
        this.#named = { winner, by: a }
        for (const f of this.#failed) if (f.url !== undefined && samePath(f.url, url)) f.url = undefined
      }
      if (this.#leader === a) this.#leader = undefined
      if (a.url !== undefined && a.url === p.url) p.url = undefined
      this.#lose(a, this.#named.winner)
      this.#terminate(a)
    } else if (err !== undefined) {
      const real = !ctx.pausedDuring(err) && !ctx.abortError()
      if (real) {
        const e = asClientError(err)
        if (isGone(e)) {
          // The partial expired or was removed: it cannot be resumed (its bytes must be sent again).
          if (this.#leader === a || (a.url !== undefined && a.url === p.url)) p.url = undefined
          if (this.#leader === a) this.#leader = undefined
          a.url = undefined
        }
        const stalled = e.code === 'CLIENT_ERR_STALLED'
        ctx.observe(a.endpoint, { ok: false, stalled })
        if (stalled) {
          ctx.emit('stall', {
            partition: p.index,
            attempt: a.attempt,
            endpoint: a.endpoint,
            stallTimeoutMs: ctx.options.stallTimeoutMs,
            offset: a.acked,
            by: a.abandoned ? 'model' : 'timeout',
            ...(a.abandoned && { dead: a.abandoned.dead, silentMs: Math.round(a.abandoned.silentMs) }),
          })
        }
        if (this.running.size > 0) {
          // A sibling (hedge) carries the partition on: no retry for now.
          ctx.emit('attempt-failed', { partition: p.index, attempt: a.attempt, endpoint: a.endpoint, code: e.code, status: e.status, message: e.message, willRetry: false, retryInMs: undefined, siblings: this.running.size })
        }
      }
      this.#lastError = err
      this.#lastFailed = a
      if (a.url !== undefined) {
        if (this.#winner) this.#terminate(a)
        else this.#failed.push(a)
      }
    }
    if (this.#winner || this.#named || this.running.size === 0) {
      const wake = this.#wake
      this.#wake = undefined
      wake?.()
    }
  }

  /** The failed attempt to continue from (most bytes acknowledged; the leader on a tie); the other failed partials are DELETEd. */
  #resumePoint(): Attempt | undefined {
    let best: Attempt | undefined
    for (const a of this.#failed) {
      if (a.url === undefined) continue
      if (!best || a.acked > best.acked || (a.acked === best.acked && a === this.#leader)) best = a
    }
    for (const a of this.#failed) if (a !== best && a.url !== undefined) this.#terminate(a)
    this.#failed = []
    return best
  }

  #terminate(a: Attempt): void {
    const url = a.url
    if (url === undefined) return
    a.url = undefined
    // Never DELETE the partition's winner, whoever holds its URL.
    if (this.#named && samePath(url, this.#named.winner.url!)) return
    // Through the winner's endpoint when there is one: the loser's may be the sick one.
    const via = this.#winner?.endpoint
    this.ctx.terminate(a, via === undefined ? url : rebase(url, this.ctx.options.endpoints, via))
  }

  /** `a` leads if it has more acknowledged bytes than the leader (or there is none): its URL is the one persisted. */
  #maybeLead(a: Attempt): boolean {
    if (this.#leader && this.#leader !== a && this.#leader.url !== undefined && this.#leader.acked >= a.acked) return false
    if (this.#leader === a && this.p.url === a.url) return false
    this.#leader = a
    this.p.url = a.url
    return true
  }

  async #attempt(a: Attempt, resume: { url: string; acked: number } | undefined): Promise<void> {
    const { ctx, p } = this
    const signal = a.controller.signal
    const length = p.data.length
    let offset: number
    let url: string
    if (resume === undefined) {
      const t = ctx.clock()
      // A primary attempt may be split later: its length (and so its digest) stays open until its
      // end. One shorter than 2 × minPartitionBytes never could be (see `declare` below).
      a.deferred = ctx.splitting && !a.hedge && length !== undefined && length >= 2 * ctx.options.minPartitionBytes
      a.lengthDeclared = !a.deferred
      // A partial created with its length carries its digest (hedges, small partitions).
      if (!a.deferred && ctx.partitionsVerified) await this.#digest()
      url = await ctx.tus.create(
        a.endpoint,
        { length: a.deferred ? undefined : length, metadata: ctx.metadataFor(p, a.attempt, a.deferred), ...(ctx.concat && { concat: { type: ctx.concat } }) },
        signal,
      )
      ctx.observeRequest('rtt', ctx.clock() - t, 0)
      a.url = url
      a.progress(ctx.clock())
      offset = 0
      // The URL must be on disk before any byte goes to it, or a crash would orphan acknowledged
      // bytes. A hedge's URL is written once it leads (its bytes are a redundant copy).
      if (!a.hedge || p.url === undefined) {
        if (this.#maybeLead(a)) await ctx.persist()
      }
    } else {
      url = rebase(resume.url, ctx.options.endpoints, a.endpoint)
      a.url = url
      const t = ctx.clock()
      const head = await ctx.tus.head(url, signal)
      ctx.observeRequest('rtt', ctx.clock() - t, 0)
      a.progress(ctx.clock())
      offset = head.offset
      if (length !== undefined && offset > length) {
        throw new ClientError('CLIENT_ERR_OFFSET_MISMATCH', `${url} is at offset ${offset}, past the partition's ${length} bytes`)
      }
      if (offset < resume.acked) {
        throw new ClientError('CLIENT_ERR_OFFSET_MISMATCH', `${url} is at offset ${offset} but ${resume.acked} bytes were acknowledged: the server lost bytes`)
      }
      a.acked = offset
      a.progressBytes = offset
      this.#maybeLead(a)
      if (offset > p.acked) {
        // Acknowledged in an earlier run (or answered but not recorded): count them now.
        const from = p.acked
        p.acked = offset
        ctx.acknowledged(p, from, NOTHING)
      }
      a.deferred = ctx.concat === 'partial' && head.length === undefined
      a.lengthDeclared = head.length !== undefined
      if (length !== undefined && head.length !== undefined && head.length < length) {
        // Ended at a split that was not recorded (a crash between the length-declaring PATCH and
        // the state write): re-partition the rest now, as the split would have.
        if (!ctx.splitting || offset !== head.length) {
          throw new ClientError('CLIENT_ERR_OFFSET_MISMATCH', `${url} has Upload-Length ${head.length} (offset ${offset}), not the partition's ${length} bytes`)
        }
        await ctx.split(p, offset, await digestRange(ctx.hash, p.data, offset), a, undefined)
        return this.#win(a)
      }
      const total = length ?? head.length
      if (total !== undefined && offset === total) {
        if (a.deferred && !a.lengthDeclared && length !== undefined) await this.#declare(a, url, length)
        return this.#win(a)
      }
    }
    ctx.emit('attempt-start', { partition: p.index, attempt: a.attempt, endpoint: a.endpoint, offset, length: length ?? -1, url })

    const streamed = ctx.partitionsVerified && length !== undefined && p.data.stream !== undefined
    for (;;) {
      await ctx.gate()
      if (a.lost) return
      await ctx.beforeSend?.(p, offset)
      // A streamed body is read as the socket drains; its bytes are not needed afterwards (they
      // matter only to the sequential mode's running hash, which never streams).
      const chunk = streamed ? p.data.stream!(offset, ctx.streamedPatchBytes) : await p.data.chunk(offset, ctx.options.chunkBytes)
      const { last } = chunk
      let { bytes } = chunk
      if (bytes.length === 0 && length !== undefined) break
      const t = ctx.clock()
      const at = offset
      let taken = 0
      const take = (n: number): void => {
        const d = n - taken
        if (d <= 0) return
        const first = taken === 0
        taken = n
        a.sent += d
        a.progressBytes = Math.max(a.progressBytes, at + n)
        a.bodyProgress(ctx.clock(), first)
        ctx.hedges?.sent(a, d)
        ctx.sentBytes(d, 0)
      }
      // This body ends a deferred attempt whose length is still open. If its rest is too small to be
      // split, it declares the length and digest in its headers, saving the empty length-declaring
      // PATCH; otherwise, where trailers are understood, in trailers after its last byte: the gateway
      // applies them only if every byte arrived, so the PATCH may still be cut for a split (the
      // length stays open until the answer says it was declared).
      const ends = a.deferred && !a.lengthDeclared && last && length !== undefined
      const declare = ends && length - offset < 2 * ctx.options.minPartitionBytes
      if (declare) a.lengthDeclared = true
      const trailed = ends && !declare && ctx.lengthTrailers
      // The digest goes with this PATCH: known, or — a whole partition streamed from its start with
      // its digest still open — taken from these very bytes as they go (read once, not twice).
      let digest: string | (() => string) | undefined
      if (declare || trailed) {
        // (A trailed body ends the partition: from offset 0 it is the whole of it.)
        if (trailed && p.sha256 === undefined && offset === 0 && !(bytes instanceof Uint8Array)) {
          const hashed = hashedBody(bytes, ctx.hash())
          const data = p.data
          bytes = hashed.body
          digest = () => {
            const sha256 = hashed.digest()
            if (p.data === data) p.sha256 ??= sha256
            return sha256
          }
        } else digest = await this.#digest()
      }
      const cut = new AbortController()
      a.cutPatch = (reason) => cut.abort(reason)
      a.patchStartedMs = t
      a.patchFrom = offset
      let next: number
      try {
        next = await ctx.tus.patch(url, {
          offset,
          body: bytes,
          signal: AbortSignal.any([signal, cut.signal]),
          onProgress: take,
          ...(ctx.checksum && bytes instanceof Uint8Array && { sha256Base64: sha256Base64(ctx.hash, bytes) }),
          ...(last && length === undefined && { uploadLength: offset + bytes.length }),
          ...(digest !== undefined && { uploadLength: length, tesseraSha256: digest }),
          ...(trailed && { declareInTrailers: true }),
        })
      } catch (err) {
        a.cutPatch = undefined
        if (!cut.signal.aborted || signal.aborted || a.splitRequest === undefined || length === undefined) throw err
        try {
          const cutAt = await cutAttempt(ctx, p, a, url, length, signal)
          if (cutAt === 'split') return this.#win(a)
          offset = cutAt
        } finally {
          this.cutting = false
        }
        continue
      }
      a.cutPatch = undefined
      if (trailed) a.lengthDeclared = true
      if (a.splitRequest !== undefined) {
        // The PATCH was answered before the cut reached it: nothing to split.
        a.splitRequest = undefined
        this.cutting = false
      }
      take(bytes.length)
      a.progress(ctx.clock())
      ctx.observeRequest('transfer', ctx.clock() - t, bytes.length)
      offset = next
      a.acked = next
      a.progressBytes = Math.max(a.progressBytes, next)
      if (next > p.acked) {
        const from = p.acked
        p.acked = next
        ctx.sentBytes(0, next - from)
        ctx.acknowledged(p, from, bytes instanceof Uint8Array ? bytes.subarray(from - at) : NOTHING)
      }
      this.#maybeLead(a)
      if (last || (length !== undefined && offset >= length)) break
      await ctx.persist()
    }
    if (a.deferred && !a.lengthDeclared && length !== undefined) await this.#declare(a, url, length)
    await this.#win(a)
  }

  /** The partition is whole on deferred-length attempt `a`: declare its length and digest (the gateway verifies it now). */
  async #declare(a: Attempt, url: string, length: number): Promise<void> {
    a.lengthDeclared = true
    await this.ctx.tus.patch(url, { offset: length, body: NOTHING, signal: a.controller.signal, uploadLength: length, tesseraSha256: await this.#digest() })
    a.progress(this.ctx.clock())
  }

  #digesting: { readonly data: PartitionData; readonly sha256: Promise<string> } | undefined

  /**
   * The partition's SHA-256 (base64): known, or read from the source now — once, however many ask
   * (a partition cut with its digest left to its first attempt's stream, when a hedge, a resumed or
   * adopted attempt or a header needs it first). Recomputed if a split replaced the data meanwhile.
   */
  async #digest(): Promise<string> {
    const { ctx, p } = this
    for (;;) {
      if (p.sha256 !== undefined) return p.sha256
      const data = p.data
      if (this.#digesting?.data !== data) this.#digesting = { data, sha256: digestRange(ctx.hash, data, data.length!) }
      const sha256 = await this.#digesting.sha256
      if (p.data !== data) continue
      p.sha256 ??= sha256
      return p.sha256
    }
  }

  /** The gateway named running attempt `a` the winner: it is complete there; stop waiting for its answer. */
  async #adopt(a: Attempt): Promise<void> {
    const { ctx, p } = this
    const length = p.data.length ?? 0
    a.acked = length
    if (length > p.acked) {
      const from = p.acked
      p.acked = length
      ctx.acknowledged(p, from, NOTHING)
    }
    await this.#win(a)
    a.controller.abort(new ClientError('CLIENT_ERR_ABORTED', `attempt ${a.attempt} of partition ${p.index} won on the gateway's word; its answer is not needed`))
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  /**
   * HEADs the winner the gateway named (on `endpoint`) and adopts it if it is a complete attempt
   * of this partition: `Upload-Offset` = `Upload-Length` = the partition's length, and its
   * `Upload-Metadata` names this session's partition, offset and (when it carries one) SHA-256.
   * A winner without `tessera-sha256` is accepted: the final's whole-file SHA-256 still checks it.
   * A retriable HEAD failure is left in `#lastError` (the loop retries the HEAD, never a new attempt).
   * @throws ClientError `CLIENT_ERR_WINNER_INVALID` when the HEAD does not check out (404/410 included).
   */
  async #adoptNamed(endpoint: string): Promise<void> {
    const { ctx, p } = this
    const { winner: w, by } = this.#named!
    const url = rebase(w.url!, ctx.options.endpoints, endpoint)
    const invalid = (why: string, cause?: unknown): ClientError =>
      new ClientError('CLIENT_ERR_WINNER_INVALID', `the gateway named ${url} the winner of partition ${p.index}, but ${why}`, cause === undefined ? {} : { cause })
    let head: UploadHead
    try {
      head = await ctx.tus.head(url)
    } catch (err) {
      const e = asClientError(err)
      if (isGone(e)) throw invalid(`it answered ${e.status}${e.wireCode ? ` ${e.wireCode}` : ''}`, err)
      this.#lastError = err
      this.#lastFailed = w
      return
    }
    const problem = winnerProblem(head, { length: p.data.length, partition: `${ctx.sessionId}/${p.index}`, offset: p.offset, sha256: ctx.partitionsVerified ? await this.#digest() : p.sha256 })
    if (problem !== undefined) throw invalid(problem)
    const length = head.offset
    w.acked = length
    w.progressBytes = length
    if (length > p.acked) {
      const from = p.acked
      p.acked = length
      ctx.acknowledged(p, from, NOTHING)
    }
    ctx.emit('winner-adopted', { partition: p.index, attempt: w.attempt, endpoint, url: w.url!, namedBy: by.attempt, bytes: length })
    await this.#win(w, true)
  }

  /**
   * `a` has the whole partition on the server: the first to get here wins; a later one is a loser.
   * `adopted`: a winner named by the gateway that this run never ran (no outcome for the models).
   */
  async #win(a: Attempt, adopted = false): Promise<void> {
    const { ctx, p } = this
    // Already adopted on the gateway's word, and now its own answer arrived too: nothing to do
    // (above all, never treat the winner as a late loser and DELETE it).
    if (this.#winner === a) return
    a.completed = true
    if (this.#winner) {
      this.#lose(a, this.#winner)
      this.#terminate(a)
      return
    }
    this.#winner = a
    this.#leader = a
    p.url = a.url
    p.done = true
    // A won partition has its digest (streamed, declared or checked on the way, so this reads
    // nothing): the final's partition list and the resume state need it.
    if (ctx.partitionsVerified) await this.#digest()
    const endedMs = ctx.clock()
    const durationMs = Math.max(1, endedMs - a.startedMs)
    if (!adopted) {
      ctx.observe(a.endpoint, { ok: true, bytes: a.sent, durationMs, maxGapMs: a.maxGapMs, maxBodyGapMs: a.maxBodyGapMs })
      ctx.hedges?.won(a, endedMs)
    }
    const losers = [...this.running].filter((o) => o !== a)
    ctx.emit('attempt-done', { partition: p.index, attempt: a.attempt, endpoint: a.endpoint, url: a.url!, bytesSent: a.sent, durationMs, rateBps: (a.sent * 1000) / durationMs })
    ctx.emit('attempt-won', { partition: p.index, attempt: a.attempt, endpoint: a.endpoint, url: a.url!, hedge: a.hedge, losers: losers.length })
    for (const o of losers) this.#lose(o, a)
    for (const f of this.#failed) this.#terminate(f)
    this.#failed = []
    await ctx.persist()
  }

  #lose(a: Attempt, winner: Attempt): void {
    if (a.lost) return
    a.lost = true
    const silentSinceHedged = a.hedgedAtMs !== undefined && a.lastProgressMs <= a.hedgedAtMs
    const judgedDead = !a.completed && ((a.lastRisk?.dead ?? 0) >= DEAD_LOSER || silentSinceHedged)
    // A loser cut short because its twin won is censored (no outcome), unless it was judged dead
    // (P(dead) ≥ 0.5 at its last score) or has not moved since it was hedged: that is the stall
    // hedging exists for, and the endpoint's failure model must learn it.
    if (judgedDead) this.ctx.observe(a.endpoint, { ok: false, stalled: true })
    this.ctx.emit('attempt-lost', { partition: this.p.index, attempt: a.attempt, endpoint: a.endpoint, url: a.url, winner: winner.attempt, hedge: a.hedge, bytesSent: a.sent, completed: a.completed, judgedDead })
    a.controller.abort(new ClientError('CLIENT_ERR_ABORTED', `attempt ${a.attempt} of partition ${this.p.index} lost to attempt ${winner.attempt}`))
  }
}
