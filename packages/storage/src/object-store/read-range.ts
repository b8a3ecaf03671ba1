import type { StripeRecord } from './manifest.js'
import { readStripeData, type StripeReadContext } from './stripe-reader.js'

/**
 * Streams bytes `[start, end)` of an object from its stripes, reading `readAheadStripes` stripes
 * ahead so that their block reads overlap the consumer's writes. Memory: readAheadStripes + 1 stripes.
 */
export async function* readRange(
  stripes: readonly StripeRecord[],
  start: number,
  end: number,
  ctx: Omit<StripeReadContext, 'stripeIndex'> & { readonly readAheadStripes: number },
): AsyncGenerator<Uint8Array> {
  interface Part {
    readonly stripe: number
    readonly lo: number
    readonly hi: number
    readonly first: number
    readonly last: number
  }
  const parts: Part[] = []
  let offset = 0
  for (let i = 0; i < stripes.length && offset < end; i++) {
    const s = stripes[i]!
    const lo = Math.max(start, offset) - offset
    const hi = Math.min(end, offset + s.bytes) - offset
    if (hi > lo) parts.push({ stripe: i, lo, hi, first: Math.floor(lo / s.blockBytes), last: Math.floor((hi - 1) / s.blockBytes) })
    offset += s.bytes
  }
  const load = (p: Part): Promise<Uint8Array[]> => {
    const promise = readStripeData(stripes[p.stripe]!, p.first, p.last, { ...ctx, stripeIndex: p.stripe })
    promise.catch(() => undefined)
    return promise
  }
  const ahead = ctx.readAheadStripes
  const loading = parts.slice(0, ahead).map(load)
  for (let n = 0; n < parts.length; n++) {
    const p = parts[n]!
    const blocks = await loading.shift()!
    if (parts[n + ahead]) loading.push(load(parts[n + ahead]!))
    const bb = stripes[p.stripe]!.blockBytes
    for (let b = p.first; b <= p.last; b++) {
      const block = blocks[b - p.first]!
      const from = Math.max(p.lo, b * bb) - b * bb
      const to = Math.min(p.hi, (b + 1) * bb) - b * bb
      yield block.subarray(from, to)
    }
  }
}
