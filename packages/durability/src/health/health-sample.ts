import type { HealthSample } from '@tessera/predict'
import type { BackendCapacity } from '@tessera/storage'

/** One backend operation as the monitor saw it. */
export interface OpRecord {
  /** What ran: a backend method, or `probe`. */
  readonly op: string
  /** Duration, ms (≥ 0). */
  readonly ms: number
  /** False when it rejected (or, for a read, returned a block found corrupt). */
  readonly ok: boolean
  /** Bytes read or written (0 when unknown, e.g. a streamed `get`). */
  readonly bytesRead?: number
  readonly bytesWritten?: number
}

/**
 * One window of a backend's health: a {@link HealthSample} (what the risk model eats) plus the
 * figures behind it. JSON-able.
 */
export interface HealthRecord extends HealthSample {
  /** End of the window, ms (the monitor's clock). */
  readonly tMs: number
  /** Length of the window, ms. */
  readonly windowMs: number
  /** Median duration of the window's operations, ms; carried over from the last window when it had none. */
  readonly latencyMs: number
  /** Failed operations / operations (0 when none). */
  readonly errorRate: number
  /** False when the window had operations and every one failed: the backend is down. */
  readonly available: boolean
  /** Operations seen (passive and probes). */
  readonly ops: number
  readonly errors: number
  /** Blocks reported corrupt in the window (read faults, scrubs); counted in `errors` too. */
  readonly corrupt: number
  readonly bytesRead: number
  readonly bytesWritten: number
  /** Bytes moved / time spent moving them (Σ duration of ops that moved bytes), bytes/s; 0 when none moved. */
  readonly throughputBytesPerSecond: number
  /** No operation in the window: latency and availability are carried over, and the risk model skips it. */
  readonly empty: boolean
  /** Space on the medium at the last probe, when the backend reports it. */
  readonly capacity?: BackendCapacity
}

/** Median of `values` (mean of the middle two for an even count); `undefined` when empty. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Smallest latency a sample reports, ms: the risk model works on ln(latency), so 0 is not allowed. */
export const MIN_LATENCY_MS = 0.001

/**
 * Aggregates one window's operations into a {@link HealthRecord}. `previous` supplies latency and
 * availability when the window is empty. Pure.
 */
export function aggregateWindow(ops: readonly OpRecord[], corrupt: number, tMs: number, windowMs: number, previous: HealthRecord | undefined, capacity?: BackendCapacity): HealthRecord {
  const errors = ops.filter((o) => !o.ok).length + corrupt
  const total = ops.length + corrupt
  let bytesRead = 0
  let bytesWritten = 0
  let movingMs = 0
  for (const o of ops) {
    bytesRead += o.bytesRead ?? 0
    bytesWritten += o.bytesWritten ?? 0
    if ((o.bytesRead ?? 0) + (o.bytesWritten ?? 0) > 0) movingMs += o.ms
  }
  const moved = bytesRead + bytesWritten
  const latency = median(ops.map((o) => o.ms))
  const empty = total === 0
  return {
    tMs,
    windowMs,
    latencyMs: Math.max(MIN_LATENCY_MS, latency ?? previous?.latencyMs ?? MIN_LATENCY_MS),
    errorRate: total === 0 ? 0 : errors / total,
    available: empty ? (previous?.available ?? true) : ops.length === 0 || errors < total,
    ops: ops.length,
    errors,
    corrupt,
    bytesRead,
    bytesWritten,
    throughputBytesPerSecond: moved > 0 && movingMs > 0 ? (moved / movingMs) * 1000 : 0,
    empty,
    ...(capacity && { capacity }),
  }
}
