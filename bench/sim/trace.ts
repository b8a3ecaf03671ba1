// Failure traces for `npm run sim:durability`: JSON files, format in docs/durability.md.
import { readFileSync } from 'node:fs'

/** A linear change of a backend's faults from `atHours` to `untilHours` (values are [from, to]). */
export interface RampEvent {
  readonly atHours: number
  readonly backend: string
  readonly ramp: { readonly untilHours: number; readonly latencyMs?: readonly [number, number]; readonly errorRate?: readonly [number, number] }
}
/** Faults set at once (they stay until changed). */
export interface SetEvent {
  readonly atHours: number
  readonly backend: string
  readonly set: { readonly latencyMs?: number; readonly errorRate?: number }
}
/** The backend vanishes for good, with every block on it. */
export interface DieEvent {
  readonly atHours: number
  readonly backend: string
  readonly die: true
}
/** Silent corruption: a fraction of the blocks stored on the backend now get one byte flipped on the medium. */
export interface CorruptEvent {
  readonly atHours: number
  readonly backend: string
  readonly corrupt: number
}
export type TraceEvent = RampEvent | SetEvent | DieEvent | CorruptEvent

export interface Trace {
  readonly name: string
  readonly description: string
  /** Simulated length of the trace. */
  readonly durationHours: number
  /** Backends b0…b{n−1} (at least k+m = 6). */
  readonly backends: number
  readonly events: readonly TraceEvent[]
}

export class TraceError extends Error {
  override readonly name = 'TraceError'
}

function num(where: string, v: unknown, min: number, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new TraceError(`${where}: expected a number from ${min}${max === Infinity ? ' and up' : ` to ${max}`}, got ${JSON.stringify(v)}`)
  return v
}

function pair(where: string, v: unknown, min: number, max = Infinity): readonly [number, number] {
  if (!Array.isArray(v) || v.length !== 2) throw new TraceError(`${where}: expected [from, to], got ${JSON.stringify(v)}`)
  return [num(`${where}[0]`, v[0], min, max), num(`${where}[1]`, v[1], min, max)]
}

/** Validates a parsed trace; throws {@link TraceError} naming the field. */
export function parseTrace(raw: unknown, source = 'trace'): Trace {
  if (typeof raw !== 'object' || raw === null) throw new TraceError(`${source}: expected an object`)
  const t = raw as Record<string, unknown>
  if (typeof t.name !== 'string' || !/^[a-z0-9-]+$/.test(t.name)) throw new TraceError(`${source}.name: expected a kebab-case string, got ${JSON.stringify(t.name)}`)
  const durationHours = num(`${source}.durationHours`, t.durationHours, 0.5, 24 * 30)
  const backends = num(`${source}.backends`, t.backends, 6, 64)
  if (!Number.isInteger(backends)) throw new TraceError(`${source}.backends: expected an integer`)
  if (!Array.isArray(t.events)) throw new TraceError(`${source}.events: expected an array`)
  const ids = new Set(Array.from({ length: backends }, (_, i) => `b${i}`))
  const events = t.events.map((e: unknown, i: number): TraceEvent => {
    const w = `${source}.events[${i}]`
    if (typeof e !== 'object' || e === null) throw new TraceError(`${w}: expected an object`)
    const ev = e as Record<string, unknown>
    const atHours = num(`${w}.atHours`, ev.atHours, 0, durationHours)
    if (typeof ev.backend !== 'string' || !ids.has(ev.backend)) throw new TraceError(`${w}.backend: expected one of b0…b${backends - 1}, got ${JSON.stringify(ev.backend)}`)
    const backend = ev.backend
    const kinds = ['ramp', 'set', 'die', 'corrupt'].filter((k) => k in ev)
    if (kinds.length !== 1) throw new TraceError(`${w}: expected exactly one of ramp, set, die, corrupt, got ${kinds.join(', ') || 'none'}`)
    if ('die' in ev) {
      if (ev.die !== true) throw new TraceError(`${w}.die: expected true`)
      return { atHours, backend, die: true }
    }
    if ('corrupt' in ev) return { atHours, backend, corrupt: num(`${w}.corrupt`, ev.corrupt, 0, 1) }
    if ('set' in ev) {
      const s = ev.set as Record<string, unknown>
      if (typeof s !== 'object' || s === null) throw new TraceError(`${w}.set: expected an object`)
      return { atHours, backend, set: { ...(s.latencyMs !== undefined && { latencyMs: num(`${w}.set.latencyMs`, s.latencyMs, 0) }), ...(s.errorRate !== undefined && { errorRate: num(`${w}.set.errorRate`, s.errorRate, 0, 1) }) } }
    }
    const r = ev.ramp as Record<string, unknown>
    if (typeof r !== 'object' || r === null) throw new TraceError(`${w}.ramp: expected an object`)
    const untilHours = num(`${w}.ramp.untilHours`, r.untilHours, atHours, durationHours)
    return {
      atHours,
      backend,
      ramp: { untilHours, ...(r.latencyMs !== undefined && { latencyMs: pair(`${w}.ramp.latencyMs`, r.latencyMs, 0) }), ...(r.errorRate !== undefined && { errorRate: pair(`${w}.ramp.errorRate`, r.errorRate, 0, 1) }) },
    }
  })
  return { name: t.name, description: typeof t.description === 'string' ? t.description : '', durationHours, backends, events: [...events].sort((a, b) => a.atHours - b.atHours) }
}

export function loadTrace(file: string): Trace {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new TraceError(`${file}: cannot read JSON (${(err as Error).message})`)
  }
  return parseTrace(raw, file)
}

/** A backend's injected latency (simulated ms) and error rate at `hours`, from set and ramp events. */
export function faultsAt(trace: Trace, backend: string, hours: number): { latencyMs: number; errorRate: number } {
  let latencyMs = 0
  let errorRate = 0
  for (const e of trace.events) {
    if (e.backend !== backend || e.atHours > hours) continue
    if ('set' in e) {
      if (e.set.latencyMs !== undefined) latencyMs = e.set.latencyMs
      if (e.set.errorRate !== undefined) errorRate = e.set.errorRate
    } else if ('ramp' in e) {
      const span = e.ramp.untilHours - e.atHours
      const f = span <= 0 ? 1 : Math.min(1, (hours - e.atHours) / span)
      if (e.ramp.latencyMs) latencyMs = e.ramp.latencyMs[0] + f * (e.ramp.latencyMs[1] - e.ramp.latencyMs[0])
      if (e.ramp.errorRate) errorRate = e.ramp.errorRate[0] + f * (e.ramp.errorRate[1] - e.ramp.errorRate[0])
    }
  }
  return { latencyMs, errorRate }
}
