/** BullMQ's highest priority number (its lowest priority): priorities are integers 1 … 2²¹ − 1. */
export const BULL_PRIORITY_LIMIT = 2 ** 21 - 1

/**
 * Maps a task priority (a float, higher runs first: `PRIORITY.regenerate + P(loss)` and the like)
 * onto BullMQ's (an integer, lower runs first). `[minPriority, maxPriority]` is spread linearly
 * over 1 … 2²¹ − 1, so with the default range [0, 8] priorities closer than 8 / 2²¹ ≈ 3.8 × 10⁻⁶
 * share a number and run in the order added (BullMQ is FIFO within a priority, as the local queue
 * is for ties). Priorities outside the range clamp to its ends. 0 — BullMQ's "no priority", which
 * would overtake every prioritized job — is never produced.
 */
export function toBullPriority(priority: number, minPriority: number, maxPriority: number): number {
  const p = Math.min(maxPriority, Math.max(minPriority, priority))
  const fromTop = (maxPriority - p) / (maxPriority - minPriority)
  return 1 + Math.round(fromTop * (BULL_PRIORITY_LIMIT - 1))
}
