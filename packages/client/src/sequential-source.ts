import { ClientError } from './errors.js'
import type { SequentialSource } from './ports.js'

/**
 * A {@link SequentialSource} over a stream's chunks: `pull()` resolves the next chunk, or undefined
 * at the end. `next(n)` gathers up to n bytes across chunks (fewer only at the end); at most one
 * chunk is held beyond that. `release(ended)` frees the stream on close (cancel it unless ended).
 * No fingerprint. A failing `pull()` is `CLIENT_ERR_SOURCE`.
 */
export function chunkedSource(pull: () => Promise<Uint8Array | undefined>, release: (ended: boolean) => Promise<void>, size: number | undefined): SequentialSource {
  let rest: Uint8Array | undefined
  let ended = false
  return {
    kind: 'sequential',
    size,
    fingerprint: undefined,
    async next(maxBytes: number): Promise<Uint8Array> {
      const parts: Uint8Array[] = []
      let n = 0
      while (n < maxBytes) {
        if (!rest || rest.length === 0) {
          if (ended) break
          try {
            rest = await pull()
          } catch (err) {
            throw new ClientError('CLIENT_ERR_SOURCE', `the source stream failed: ${(err as Error).message}`, { cause: err })
          }
          if (rest === undefined) {
            ended = true
            break
          }
        }
        const piece = rest.subarray(0, maxBytes - n)
        rest = rest.subarray(piece.length)
        parts.push(piece)
        n += piece.length
      }
      return concatBytes(parts, n)
    },
    close: () => release(ended),
  }
}

/** `parts` (of `total` bytes together) as one array; the one part itself when there is one. */
export function concatBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}
