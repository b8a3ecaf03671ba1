import { raceAbort } from '../abort.js'
import { StorageError, isStorageError } from '../errors.js'
import type { BufferPool } from './buffer-pool.js'
import type { CodecPool } from './codec-pool.js'
import type { BlockRef, Manifest, StripeRecord } from './manifest.js'
import type { ManifestStore } from './manifest-store.js'
import type { ResolvedObjectStoreOptions } from './object-store-options.js'
import { placeStripe } from './placement.js'
import { SegmentSet } from './segment-set.js'
import { deleteBlocks, wholeBlocks, writeStripeBlocks } from './stripe-writer.js'

/** Options of `ObjectStore.append`. */
export interface AppendOptions {
  /**
   * Stops reading the source. In `'progressive'` mode the bytes received so far are stored and
   * committed before `append` resolves; in `'atomic'` mode nothing of this append is committed.
   */
  readonly signal?: AbortSignal
  /**
   * `'progressive'` (default): every stripe is committed as soon as its blocks are stored, so a
   * crash keeps everything stored before it. `'atomic'`: stripes are stored as bytes arrive but
   * committed together at the end, and only if `beforeCommit` approves (checksummed requests).
   */
  readonly commit?: 'progressive' | 'atomic'
  /** Atomic mode: called after the source ended; `false` discards this append's stripes. */
  readonly beforeCommit?: () => boolean | Promise<boolean>
}

/** What `ObjectStore.append` did. */
export interface AppendResult {
  /** Committed length of the object afterwards, bytes. */
  readonly length: number
  /** Bytes of this append that were committed. */
  readonly appended: number
  /** `false` when the append was discarded (atomic mode: refused by `beforeCommit`, aborted, or the source failed). */
  readonly committed: boolean
  /** Why reading stopped before the source's end, if it did. */
  readonly stopped?: 'aborted' | 'source-error'
  /** The source's error when `stopped` is `'source-error'`. */
  readonly sourceError?: unknown
}

interface Env {
  readonly options: ResolvedObjectStoreOptions
  readonly codecs: CodecPool
  readonly buffers: BufferPool
}

/**
 * Cuts `source` into stripes as bytes arrive, encodes and stores each on k+m backends while the
 * next one fills (`pipelineDepth` stripes in flight, so memory is bounded by depth × stripe size
 * whatever the object size), and commits them to the manifest in order. See {@link AppendOptions}
 * for when bytes are committed.
 */
export async function appendStripes(
  env: Env,
  objectId: string,
  startLength: number,
  startStripe: number,
  source: AsyncIterable<Uint8Array>,
  options: AppendOptions,
): Promise<AppendResult> {
  const { dataBlocks: k, parityBlocks: m, blockBytes, pipelineDepth, manifests } = env.options
  const atomic = options.commit === 'atomic'
  const codec = await env.codecs.codec(k, m)
  const stripeCap = k * blockBytes
  const stripeBytes = (k + m) * blockBytes
  const pending: Promise<StripeRecord>[] = []
  const staged: StripeRecord[] = []
  let appended = 0
  let stripeIndex = startStripe
  let failure: unknown
  /** A manifest append failed in a way that may have applied it: nothing of this append may be deleted. */
  let uncertain = false
  const segments = new SegmentSet(objectId)

  const store = async (buf: Buffer, fill: number): Promise<StripeRecord> => {
    try {
      const bb = fill === stripeCap ? blockBytes : Math.ceil(fill / k)
      buf.fill(0, fill, k * bb)
      const blocks: Uint8Array[] = []
      for (let i = 0; i < k; i++) blocks.push(buf.subarray(i * bb, (i + 1) * bb))
      const parity: Uint8Array[] = []
      for (let j = 0; j < m; j++) parity.push(buf.subarray(stripeCap + j * bb, stripeCap + (j + 1) * bb))
      codec.encode(blocks, parity)
      const all = [...blocks, ...parity]
      const checksums = all.map((b) => env.codecs.checksum(b))
      const refs = await writeStripeBlocks(all, checksums, {
        objectId,
        placement: placeStripe(env.options.backends, objectId, stripeIndex++),
        writeQuorum: env.options.writeQuorum,
        blockTimeoutMs: env.options.blockTimeoutMs,
        logger: env.options.logger,
        segments,
      })
      return { bytes: fill, blockBytes: bb, dataBlocks: k, parityBlocks: m, blocks: refs }
    } finally {
      env.buffers.give(buf)
    }
  }

  // Commits (or stages) the oldest in-flight stripe; after a failure, only cleans up.
  const drainOne = async (): Promise<void> => {
    let record: StripeRecord
    try {
      record = await pending.shift()!
    } catch (err) {
      failure ??= err
      return
    }
    if (failure !== undefined) {
      await deleteBlocks(env.options.backends, refsOf([record]))
      return
    }
    if (atomic) {
      staged.push(record)
      return
    }
    try {
      await manifests.appendStripes(objectId, [record])
    } catch (err) {
      failure = err
      // A store that failed may still have applied it (a Redis command that timed out on a live
      // connection): the blocks go only when the manifest surely lacks the stripe.
      if (await surelyLacks(manifests, objectId, record)) await deleteBlocks(env.options.backends, refsOf([record]))
      else uncertain = true
      return
    }
    appended += record.bytes
  }

  const takeBuffer = async (): Promise<Buffer> => {
    while (pending.length >= pipelineDepth) await drainOne()
    if (failure !== undefined) throw failure
    return env.buffers.take(stripeBytes)
  }

  const dispatch = (buf: Buffer, fill: number): void => {
    const record = store(buf, fill)
    record.catch(() => undefined)
    pending.push(record)
  }

  let stopped: AppendResult['stopped']
  let sourceError: unknown
  const signal = options.signal
  const it = source[Symbol.asyncIterator]()
  let buf: Buffer | undefined
  let fill = 0
  try {
    buf = await takeBuffer()
    for (;;) {
      const next = it.next()
      next.catch(() => undefined)
      let step: IteratorResult<Uint8Array>
      try {
        // One abort listener per read, removed when it settles: racing every read against one
        // long-lived promise kept every chunk reachable until the request ended.
        step = await raceAbort(next, signal, `append to ${objectId}`)
      } catch (err) {
        if (signal?.aborted && isStorageError(err, 'STORAGE_ERR_ABORTED')) {
          stopped = 'aborted'
          void Promise.resolve(it.return?.()).catch(() => undefined)
        } else {
          stopped = 'source-error'
          sourceError = err
        }
        break
      }
      if (step.done) break
      const chunk = step.value
      let off = 0
      while (off < chunk.length) {
        const n = Math.min(chunk.length - off, stripeCap - fill)
        buf.set(chunk.subarray(off, off + n), fill)
        fill += n
        off += n
        if (fill === stripeCap) {
          dispatch(buf, fill)
          buf = undefined
          fill = 0
          buf = await takeBuffer()
        }
      }
    }
    const dropTail = atomic && stopped !== undefined
    if (fill > 0 && buf && !dropTail) {
      dispatch(buf, fill)
      buf = undefined
    }
  } catch (err) {
    failure ??= err
  }
  if (buf) env.buffers.give(buf)
  while (pending.length > 0) await drainOne()
  const stop = stopped && { stopped, sourceError }
  // Segments go whole when nothing of this append reached the manifest; otherwise they stay.
  const release = async (committedNothing: boolean): Promise<void> => {
    if (!committedNothing || uncertain) return segments.close()
    await deleteBlocks(env.options.backends, refsOf(staged))
    await segments.discard(env.options.backends)
  }

  if (failure !== undefined) {
    await release(appended === 0)
    throw failure instanceof StorageError ? failure : new StorageError('STORAGE_ERR_IO', `append to ${objectId} failed`, { cause: failure })
  }
  if (!atomic) {
    await release(appended === 0)
    return { length: startLength + appended, appended, committed: true, ...stop }
  }

  const approved = stopped === undefined && (await (options.beforeCommit?.() ?? true))
  if (!approved) {
    await release(true)
    return { length: startLength, appended: 0, committed: false, ...stop }
  }
  if (staged.length > 0) {
    try {
      await manifests.appendStripes(objectId, staged)
    } catch (err) {
      // As in drainOne: the batch is atomic, so its first stripe tells whether it was applied.
      if (!(await surelyLacks(manifests, objectId, staged[0]!))) uncertain = true
      await release(true)
      throw err
    }
  }
  await release(false)
  const bytes = staged.reduce((sum, s) => sum + s.bytes, 0)
  return { length: startLength + bytes, appended: bytes, committed: true }
}

/**
 * Whether the manifest of `objectId` surely does not hold `record` (after its append failed): read
 * back, it has no stripe stored where `record`'s first block is. A manifest that cannot be read
 * leaves it unknown (false): unreferenced blocks are only space, a referenced block deleted is a
 * lost stripe.
 */
async function surelyLacks(manifests: ManifestStore, objectId: string, record: StripeRecord): Promise<boolean> {
  const first = record.blocks.find((b) => b !== null)
  if (!first) return true
  let manifest: Manifest | undefined
  try {
    manifest = await manifests.get(objectId)
  } catch {
    return false
  }
  const same = (b: BlockRef | null): boolean => b !== null && b.backend === first.backend && b.key === first.key && b.offset === first.offset
  return !manifest?.stripes.some((s) => s.blocks.some(same))
}

/** The whole blocks of `records` (segment ranges go with their segment, see {@link SegmentSet}). */
function refsOf(records: readonly StripeRecord[]) {
  return wholeBlocks(records.flatMap((r) => r.blocks.filter((b) => b !== null)))
}
