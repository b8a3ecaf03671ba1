import type { Backend } from '../backend.js'

/**
 * Chooses where the blocks of a stripe go: `count` distinct backends in block order, followed by
 * the remaining backends as spares. Stripes of one object rotate through the backends so that
 * parity (the last blocks) and load spread evenly; backends that `isHealthy` rejects go last.
 */
export function placeStripe(
  backends: readonly Backend[],
  objectId: string,
  stripeIndex: number,
  isHealthy: (backendId: string) => boolean = () => true,
): Backend[] {
  const n = backends.length
  const start = (hash32(objectId) + stripeIndex) % n
  const rotated = Array.from({ length: n }, (_, i) => backends[(start + i) % n]!)
  return [...rotated.filter((b) => isHealthy(b.id)), ...rotated.filter((b) => !isHealthy(b.id))]
}

/** FNV-1a: a cheap, stable spread of object ids over starting positions. */
function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
