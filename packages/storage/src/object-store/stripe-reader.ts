import type { Backend } from '../backend.js'
import { StorageError } from '../errors.js'
import type { Logger } from '../logger.js'
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
}

/**
 * Returns data blocks `first..last` (inclusive) of a stripe, each verified against its checksum.
 * Reads those data blocks directly (the code is systematic, so the healthy path decodes nothing);
 * when one is missing, unreadable, stalled past the block deadline or corrupt, reads further blocks
 * until k verified ones are at hand and reconstructs. Never returns bytes that failed their checksum.
 * @throws StorageError `STORAGE_ERR_UNRECOVERABLE` when fewer than k verified blocks can be read.
 */
export async function readStripeData(stripe: StripeRecord, first: number, last: number, ctx: StripeReadContext): Promise<Uint8Array[]> {
  const k = stripe.dataBlocks
  const width = k + stripe.parityBlocks
  const blocks: (Uint8Array | undefined)[] = new Array(width)
  const tried = new Set<number>()

  const fetch = async (index: number): Promise<void> => {
    tried.add(index)
    const got = await readVerifiedBlock(stripe, index, ctx)
    if (got instanceof Uint8Array) {
      blocks[index] = got
      return
    }
    const fault: BlockFault = { objectId: ctx.objectId, stripe: ctx.stripeIndex, block: index, backend: stripe.blocks[index]?.backend ?? null, ...got }
    ctx.logger.warn(fault, 'block unusable, reading around it')
    ctx.onFault?.(fault)
  }

  const wanted = Array.from({ length: last - first + 1 }, (_, i) => first + i)
  await Promise.all(wanted.map(fetch))
  if (wanted.every((i) => blocks[i] !== undefined)) return wanted.map((i) => blocks[i]!)

  // Degraded: gather k verified blocks, data blocks first (cheaper to decode from), then parity.
  for (;;) {
    const have = blocks.filter((b) => b !== undefined).length
    if (have >= k) break
    const candidates = Array.from({ length: width }, (_, i) => i).filter((i) => !tried.has(i))
    if (candidates.length === 0) {
      throw new StorageError('STORAGE_ERR_UNRECOVERABLE', `stripe ${ctx.stripeIndex} of ${ctx.objectId} has ${have} readable blocks of the ${k} needed`)
    }
    await Promise.all(candidates.slice(0, k - have).map(fetch))
  }
  const codec = await ctx.codecs.codec(k, stripe.parityBlocks)
  const full = codec.reconstruct(blocks, { dataOnly: true })
  return wanted.map((i) => full[i]!)
}
