import { encodeBase64 } from '@tessera/protocol'
import type { Attempt } from './attempt.js'
import { ClientError } from './errors.js'
import type { Partition, PartitionData } from './partition.js'
import type { RunnerContext } from './runner-context.js'
import type { HashFactory } from './ports.js'
import { splitDecision } from './split-decision.js'

const NOTHING = new Uint8Array(0)
/** Bytes read at once when re-hashing a partition's prefix. */
const DIGEST_READ_BYTES = 1024 * 1024
/** Length-declaring PATCHes refused with 409 (bytes of the cut PATCH landed after the HEAD) before the split is given up. */
const CUT_TRIES = 3

/**
 * base64 SHA-256 of the first `end` bytes of `data` (read again from the source: a split re-reads
 * the prefix it ends the partition at, and the rest it re-partitions).
 */
export async function digestRange(hash: HashFactory, data: PartitionData, end: number, start = 0): Promise<string> {
  const h = hash()
  for (let at = start; at < end; ) {
    const { bytes } = await data.chunk(at, Math.min(DIGEST_READ_BYTES, end - at))
    if (bytes.length === 0) throw new ClientError('CLIENT_ERR_SOURCE_SHORT', `the source ended at ${at} of a partition, before ${end}`)
    h.update(bytes)
    at += bytes.length
  }
  return encodeBase64(h.digest())
}

/**
 * The split of deferred-length attempt `a` of partition `p` (`length` bytes), after its in-flight
 * PATCH was cut: HEAD for the committed offset X (the gateway's HEAD takes the upload's lock, so
 * the cut PATCH has committed what arrived); if X > 0 and {@link splitDecision} says the rest is
 * worth re-partitioning at the rate the PATCH got through, a PATCH `Upload-Length: X` + `Tessera-Sha256` (digest of the first X
 * bytes, re-read) ends the partial — the gateway verifies it at once — and `ctx.split` shrinks the
 * partition to X and queues the rest. A 409 (bytes of the cut PATCH committed after the HEAD) asks
 * again, up to {@link CUT_TRIES} times.
 * @returns `'split'` when the partial was ended (the caller declares the attempt the winner), else
 *   the server's offset to continue sending from (the split was not worth it, or kept losing races).
 */
export async function cutAttempt(ctx: RunnerContext, p: Partition, a: Attempt, url: string, length: number, signal: AbortSignal): Promise<'split' | number> {
  const why = a.splitRequest
  a.splitRequest = undefined
  let at = 0
  for (let tries = 0; tries <= CUT_TRIES; tries++) {
    const head = await ctx.tus.head(url, signal)
    a.progress(ctx.clock())
    at = head.offset
    if (at > length) throw new ClientError('CLIENT_ERR_OFFSET_MISMATCH', `${url} is at offset ${at}, past the partition's ${length} bytes`)
    a.acked = at
    a.progressBytes = at
    if (at > p.acked) {
      const from = p.acked
      p.acked = at
      ctx.sentBytes(0, at - from)
      ctx.acknowledged(p, from, NOTHING)
    }
    if (head.length !== undefined) {
      a.lengthDeclared = true
      return at
    }
    if (tries === CUT_TRIES || at === 0) return at
    const decision = splitDecision(length - at, at - a.patchFrom, ctx.clock() - a.patchStartedMs, ctx.splitThresholds)
    if (!decision.split) return at
    const sha256 = await digestRange(ctx.hash, p.data, at)
    try {
      await ctx.tus.patch(url, { offset: at, body: NOTHING, signal, uploadLength: at, tesseraSha256: sha256 })
    } catch (err) {
      if (err instanceof ClientError && err.code === 'CLIENT_ERR_OFFSET_MISMATCH') continue
      throw err
    }
    a.lengthDeclared = true
    a.progress(ctx.clock())
    await ctx.split(p, at, sha256, a, { rateBps: decision.rateBps, remainingMs: decision.remainingMs, patchMs: why?.patchMs ?? 0, socketRateBps: why?.socketRateBps })
    return 'split'
  }
  return at
}
