import { performance } from 'node:perf_hooks'
import { abortedError } from '../abort.js'
import type { Backend } from '../backend.js'
import { StorageError } from '../errors.js'
import type { Logger } from '../logger.js'
import { EchoCache } from '../read/echo-cache.js'
import type { EchoCopier } from '../read/echo-copier.js'
import type { HedgedReads } from '../read/hedged-reads.js'
import { readBlock } from './block-io.js'
import type { CodecPool } from './codec-pool.js'
import type { StripeRecord } from './manifest.js'

/** A block that could not be used while reading: the repair subsystem's input. */
export interface BlockFault {
  readonly objectId: string
  readonly stripe: number
  readonly block: number
  readonly backend: string | null
  readonly kind: 'missing' | 'unreadable' | 'corrupt'
  readonly code?: string
}

/** A block read started on a backend ({@link ObjectStoreOptions.onBlockRead}). */
export interface BlockRead {
  readonly objectId: string
  readonly stripe: number
  readonly block: number
  /** Where it is read: the manifest's backend, or the backend of the block's echo copy. */
  readonly backend: string
}

/** Why a block could not be used, and the storage code behind it. */
export interface BlockProblem {
  readonly kind: BlockFault['kind']
  readonly code?: string
}

/**
 * Reads block `index` of a stripe and checks its size and checksum: the verified bytes, or what is
 * wrong with the block. Rejects only when `signal` aborts.
 */
export async function readVerifiedBlock(
  stripe: StripeRecord,
  index: number,
  ctx: Pick<StripeReadContext, 'backends' | 'codecs' | 'blockTimeoutMs' | 'signal'>,
): Promise<Uint8Array | BlockProblem> {
  const ref = stripe.blocks[index]
  if (!ref) return { kind: 'missing' }
  const backend = ctx.backends.get(ref.backend)
  if (!backend) return { kind: 'missing', code: 'STORAGE_ERR_UNAVAILABLE' }
  let bytes: Uint8Array
  try {
    bytes = await readBlock(backend, ref, stripe.blockBytes, ctx.blockTimeoutMs, ctx.signal)
  } catch (err) {
    if (ctx.signal?.aborted) throw err
    const code = (err as StorageError).code
    return { kind: code === 'STORAGE_ERR_NOT_FOUND' ? 'missing' : 'unreadable', code }
  }
  if (bytes.length !== stripe.blockBytes || ctx.codecs.checksum(bytes) !== ref.checksum) return { kind: 'corrupt', code: 'STORAGE_ERR_CORRUPT' }
  return bytes
}

/** What {@link readStripeData} needs besides the stripe. */
export interface StripeReadContext {
  readonly objectId: string
  readonly stripeIndex: number
  readonly backends: ReadonlyMap<string, Backend>
  readonly codecs: CodecPool
  readonly blockTimeoutMs: number
  readonly logger: Logger
  readonly onFault?: (fault: BlockFault) => void
  readonly signal?: AbortSignal
  /** Ranks, hedges and counts the reads (the store's); without it, data blocks in order, read around failures only. */
  readonly reads?: HedgedReads
  /** Verified data blocks in memory: read from it when there, offered what was read. */
  readonly echoes?: EchoCache
  /** Echo copies on other backends: made of blocks that became hot in `echoes`, read when a block's backend is slow. */
  readonly copier?: EchoCopier
  /** Told of each block read started on a backend. */
  readonly onBlockRead?: (read: BlockRead) => void
}

/**
 * Returns data blocks `first..last` (inclusive) of a stripe, each verified against its checksum.
 * A whole stripe is read from the k blocks ranked first by `ctx.reads` (its data blocks unless a
 * backend is predicted slow), a range inside one stripe from the data blocks it covers (the code
 * is systematic: the healthy path decodes nothing). A block that is missing, unreadable, stalled
 * past the block deadline or corrupt is replaced by another at once; one still running after its
 * backend's hedge delay gets another started too, within the read budget (without budget, once it
 * has run `hedge.maxMs`). The first k verified blocks (or the wanted data blocks) win, the other
 * reads are cancelled. Never returns bytes that failed their checksum. With `ctx.echoes`, wanted blocks found there are not read, and those
 * read are offered to it.
 * @throws StorageError `STORAGE_ERR_UNRECOVERABLE` when fewer than k verified blocks can be read;
 *   `STORAGE_ERR_ABORTED` when `ctx.signal` fires.
 */
export async function readStripeData(stripe: StripeRecord, first: number, last: number, ctx: StripeReadContext): Promise<Uint8Array[]> {
  const k = stripe.dataBlocks
  const wanted = Array.from({ length: last - first + 1 }, (_, i) => first + i)
  const echoes = ctx.echoes
  const ids = stripe.blocks.map((ref) => (echoes && ref ? EchoCache.idOf(ref) : undefined))
  const known: (Uint8Array | undefined)[] = new Array(stripe.blocks.length)
  if (echoes) for (const i of wanted) known[i] = ids[i] === undefined ? undefined : echoes.get(ids[i])
  // A block read from memory is hot: it gets its echo copies if it has none yet (the copier's queue is bounded).
  const copier = ctx.copier
  if (copier) for (const i of wanted) if (known[i]) copier.offer(stripe.blocks[i]!, known[i])
  if (wanted.every((i) => known[i] !== undefined)) return wanted.map((i) => known[i]!)
  // Data blocks whose backend is predicted slow are read from an echo copy on a faster one, if any;
  // a copy that fails is not the manifest's block, so it is not reported as a fault.
  const view: StripeRecord = copier ? { ...stripe, blocks: stripe.blocks.map((ref, i) => (ref && i < k ? copier.source(ref) : ref)) } : stripe
  const readCtx = view === stripe || !ctx.onFault ? ctx : { ...ctx, onFault: (f: BlockFault) => view.blocks[f.block] === stripe.blocks[f.block] && ctx.onFault!(f) }
  const order = (ctx.reads ? ctx.reads.rank(view) : stripe.blocks.map((_, i) => i)).filter((i) => known[i] === undefined)
  const initial = wanted.length === k ? order.slice(0, k - wanted.filter((i) => known[i]).length) : wanted.filter((i) => known[i] === undefined)
  const blocks = await gather(view, wanted, order, initial, known, readCtx)
  let out: Uint8Array[]
  if (wanted.every((i) => blocks[i] !== undefined)) out = wanted.map((i) => blocks[i]!)
  else {
    const codec = await ctx.codecs.codec(k, stripe.parityBlocks)
    const full = codec.reconstruct(blocks, { dataOnly: true })
    out = wanted.map((i) => full[i]!)
  }
  if (echoes) {
    wanted.forEach((i, n) => {
      if (known[i] === undefined && ids[i] && echoes.offer(ids[i], ctx.objectId, out[n]!)) copier?.offer(stripe.blocks[i]!, out[n]!)
    })
  }
  return out
}

/**
 * Reads the data blocks of a stripe into `echoes` as prefetched (unless all are there): what a
 * read predicted to come next finds in memory. Resolves the bytes read (0 when already cached).
 * @throws like {@link readStripeData}.
 */
export async function prefetchStripe(stripe: StripeRecord, echoes: EchoCache, ctx: StripeReadContext): Promise<number> {
  const ids = stripe.blocks.slice(0, stripe.dataBlocks).map((ref) => ref && EchoCache.idOf(ref))
  if (ids.every((id) => id && echoes.has(id))) return 0
  const data = await readStripeData(stripe, 0, stripe.dataBlocks - 1, ctx)
  let bytes = 0
  ids.forEach((id, i) => {
    if (id && !echoes.has(id)) {
      echoes.offer(id, ctx.objectId, data[i]!, true)
      bytes += data[i]!.byteLength
    }
  })
  return bytes
}

type Why = 'initial' | 'hedge' | 'replacement'

interface Running {
  readonly backend: string | undefined
  /** When it started (`now()`). */
  readonly began: number
  /** Past its hedge delay. */
  overdue: boolean
  /** Hedged: no longer counted on to complete the stripe (it may still win). */
  late: boolean
  timer: ReturnType<typeof setTimeout> | undefined
  /** Reads of the stripe that had ended when this one started. */
  readonly endedBefore: number
  /** Past its hedge delay with every other read of the stripe: its delay restarts when one of them ends. */
  stalled: boolean
}

/**
 * Runs the block reads of one stripe until the wanted data blocks or any k blocks are verified:
 * the blocks read, by index (others undefined). Until the first failure or hedge only `initial`
 * runs; from then on the reads still counted on plus those verified are kept at k (any k blocks
 * decode the stripe).
 */
function gather(
  stripe: StripeRecord,
  wanted: readonly number[],
  order: readonly number[],
  initial: readonly number[],
  known: readonly (Uint8Array | undefined)[],
  ctx: StripeReadContext,
): Promise<(Uint8Array | undefined)[]> {
  const k = stripe.dataBlocks
  const reads = ctx.reads
  const hedging = reads?.options.enabled === true
  const now = reads?.now ?? (() => performance.now())
  const blocks = [...known]
  const queue = order.filter((i) => !initial.includes(i))
  const running = new Map<number, Running>()
  const local = new AbortController()
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, local.signal]) : local.signal
  const readCtx = { ...ctx, signal }
  const outcome = { needed: initial.length, started: 0, hedges: 0, denied: 0, replacements: 0, cancelled: 0, decoded: false }
  let verified = blocks.filter((b) => b !== undefined).length
  /** Reads of this stripe ended so far (any outcome). */
  let ended = 0

  return new Promise((resolve, reject) => {
    let settled = false
    const live = (): number => [...running.values()].filter((r) => !r.late).length
    const done = (): boolean => verified >= k || wanted.every((i) => blocks[i] !== undefined)
    const finish = (err?: unknown): void => {
      settled = true
      for (const r of running.values()) clearTimeout(r.timer)
      outcome.cancelled = running.size
      outcome.decoded = err === undefined && !wanted.every((i) => blocks[i] !== undefined)
      local.abort()
      reads?.settle(outcome)
      if (err === undefined) resolve(blocks)
      else reject(err)
    }
    const fill = (why: Why): void => {
      for (let gap = k - verified - live(); gap > 0 && queue.length > 0; gap--) launch(queue.shift()!, why)
    }
    const launch = (index: number, why: Why): void => {
      outcome.started++
      if (why === 'hedge') outcome.hedges++
      if (why === 'replacement') outcome.replacements++
      const backend = stripe.blocks[index]?.backend
      if (backend !== undefined) {
        reads?.latency.start(backend)
        ctx.onBlockRead?.({ objectId: ctx.objectId, stripe: ctx.stripeIndex, block: index, backend })
      }
      const r: Running = { backend, began: now(), overdue: false, late: false, timer: undefined, endedBefore: ended, stalled: false }
      running.set(index, r)
      if (hedging && backend !== undefined) rearm(index, r, reads!.latency.hedgeDelayMs(backend))
      readVerifiedBlock(stripe, index, readCtx).then(
        (got) => onRead(index, got, now() - r.began),
        (err: unknown) => {
          if (!settled) finish(err)
        },
      )
    }
    const onRead = (index: number, got: Uint8Array | BlockProblem, ms: number): void => {
      if (settled) return
      const r = running.get(index)
      clearTimeout(r?.timer)
      running.delete(index)
      ended++
      for (const [i, other] of running) if (other.stalled) rearm(i, other, reads!.latency.hedgeDelayMs(other.backend!))
      const backend = stripe.blocks[index]?.backend ?? null
      if (got instanceof Uint8Array) {
        blocks[index] = got
        verified++
        if (backend !== null) reads?.latency.observe(backend, ms, r?.overdue)
      } else {
        const fault: BlockFault = { objectId: ctx.objectId, stripe: ctx.stripeIndex, block: index, backend, ...got }
        ctx.logger.warn(fault, 'block unusable, reading around it')
        ctx.onFault?.(fault)
        if (backend !== null) reads?.latency.fail(backend, ms)
        fill('replacement')
      }
      if (done()) return finish()
      if (running.size === 0) {
        finish(new StorageError('STORAGE_ERR_UNRECOVERABLE', `stripe ${ctx.stripeIndex} of ${ctx.objectId} has ${verified} readable blocks of the ${k} needed`))
      }
    }
    const onLate = (index: number): void => {
      const r = running.get(index)
      if (settled || !r) return
      const backend = r.backend!
      const elapsed = now() - r.began
      // Late together with every other read of the stripe (none has ended since it started): the
      // gateway or its machine stalled, not this backend — a hedge would stall alike, and counting
      // it late would take healthy backends out of the first k. Its hedge delay starts again when
      // another read ends; alone, it is judged once it has run `maxMs` (every backend stalled).
      if (!r.stalled && running.size > 1 && ended === r.endedBefore && elapsed < reads!.options.maxMs) {
        rearm(index, r, reads!.options.maxMs - elapsed)
        r.stalled = true
        return
      }
      r.stalled = false
      r.overdue = true
      reads!.noteLate(backend, elapsed)
      // Blocks to start so that, without this one, the stripe is still covered.
      const gap = k - verified - (live() - 1)
      if (gap > queue.length) return // nothing else can cover it: keep waiting (the block deadline still applies)
      if (gap > 0 && !reads!.takeHedges(gap)) {
        outcome.denied++
        // Out of budget: waited for until `maxMs`, then read around like a failed block.
        r.timer = setTimeout(() => onOverdue(index), Math.max(0, reads!.options.maxMs - elapsed))
        return
      }
      r.late = true
      fill('hedge')
    }
    const rearm = (index: number, r: Running, ms: number): void => {
      clearTimeout(r.timer)
      r.stalled = false
      r.timer = setTimeout(() => onLate(index), ms)
    }
    const onOverdue = (index: number): void => {
      const r = running.get(index)
      if (settled || !r || r.late) return
      r.late = true
      fill('replacement')
    }
    if (ctx.signal?.aborted) return finish(abortedError(ctx.signal, 'stripe read'))
    for (const index of initial) launch(index, 'initial')
  })
}
