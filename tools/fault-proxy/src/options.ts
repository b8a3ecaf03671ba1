import { invalidOption } from './invalid-option.js'

/** A value drawn uniformly from `min` to `max` (inclusive, `0 <= min <= max`), per draw. */
export interface Range {
  readonly min: number
  readonly max: number
}

/** A fixed amount, or a {@link Range} to draw from (seeded). */
export type Amount = number | Range

/** Which direction a shaping option applies to: `upload` is client → upstream. */
export type Direction = 'both' | 'upload' | 'download'

/**
 * When fault dice are rolled: at the start of every HTTP request on a connection (`request`; keep-alive
 * connections get several rolls), or only when the connection opens (`connection`).
 */
export type FaultUnit = 'request' | 'connection'

/** One phase of a bandwidth schedule. */
export interface BandwidthPhase {
  /** Link rate in bits per second (`200e6` = 200 Mbit/s); `Infinity` = unlimited. */
  readonly bitsPerSecond: number
  /** How long the phase lasts, in ms. After the last phase the schedule holds it (or loops, see `bandwidthLoop`). */
  readonly durationMs: number
}

/** The faults of one endpoint. All can change at runtime with `FaultEndpoint.setFaults()`. */
export interface Faults {
  /** Delay before a new connection is connected upstream, in ms, drawn once per connection. Default `0`. */
  readonly latencyMs: Amount
  /**
   * One-way delay added to every chunk, in ms (a delay line: chunks keep their order and the rate is
   * not reduced, so a round trip grows by twice this). A range adds jitter. Default `0`.
   */
  readonly delayMs: Amount
  /** Directions `delayMs` applies to. Default `'both'`. */
  readonly delayDirection: Direction
  /**
   * Bandwidth schedule: one token bucket per direction, shared by all connections of the endpoint
   * (a link, not a per-flow cap). Starts when the endpoint listens (or on `restartSchedule()` /
   * `setFaults({ bandwidth })`). Default `[]` = unlimited.
   */
  readonly bandwidth: readonly BandwidthPhase[]
  /** Directions the schedule applies to (each direction has its own bucket at the same rate). Default `'both'`. */
  readonly bandwidthDirection: Direction
  /** Repeat the schedule instead of holding its last phase. Default `false`. */
  readonly bandwidthLoop: boolean
  /** Probability (0..1), per roll, that the connection stalls: both directions stop, the socket stays open. Default `0`. */
  readonly stallRate: number
  /** Bytes forwarded (both directions, counted from the start of the rolled request) before a stall. Default `{ min: 0, max: 65536 }`. */
  readonly stallAfterBytes: Amount
  /** How long a stall lasts, in ms; `Infinity` = until the client or the proxy closes. Default `Infinity`. */
  readonly stallMs: number
  /**
   * Stalls scheduled by bytes instead of dice: one per this many client → upstream bytes the
   * endpoint carries (all its connections counted together), at a seeded point of each window; the
   * connection carrying that byte stalls (like `stallRate`'s stalls, for `stallMs`). A run that
   * carries N × this many bytes sees N stalls, whatever its requests look like — a flaky path as
   * every client of it meets it. 0 = off. Independent of `stallRate`. Default `0`.
   */
  readonly stallEveryBytes: number
  /** Probability (0..1), per roll, that the connection is reset (TCP RST both ways). Default `0`. */
  readonly resetRate: number
  /** Bytes forwarded (both directions, from the start of the rolled request) before a reset. Default `{ min: 0, max: 65536 }`. */
  readonly resetAfterBytes: Amount
  /** Probability (0..1), per roll, that the proxy answers `status` itself instead of forwarding. Default `0`. */
  readonly statusRate: number
  /** The HTTP status of injected answers (500..599, or any 400..599). Default `503`. */
  readonly status: number
  /** When dice are rolled. Default `'request'`. */
  readonly faultsPer: FaultUnit
}

/** One endpoint: a listening port in front of one upstream, with its own faults. */
export interface EndpointOptions extends Partial<Faults> {
  /** Where to forward: `http://host:port` (path ignored), or `host:port`. Required. */
  readonly upstream: string
  /** Port to listen on; `0` = any free port. Default `0`. */
  readonly listenPort?: number
  /** Name in stats and logs. Default `endpoint-<index>`. */
  readonly name?: string
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The endpoints, one listening port each. At least one. */
  readonly endpoints: readonly EndpointOptions[]
  /** Seed (integer 0..2^32-1) of every fault decision; connection `i` of endpoint `e` draws from its own stream. Default `1`. */
  readonly seed?: number
  /** Interface every endpoint listens on. Default `'127.0.0.1'`. */
  readonly host?: string
}

/** No faults: an endpoint with these defaults forwards bytes unchanged. */
export const defaultFaults: Faults = Object.freeze({
  latencyMs: 0,
  delayMs: 0,
  delayDirection: 'both',
  bandwidth: Object.freeze([]) as readonly BandwidthPhase[],
  bandwidthDirection: 'both',
  bandwidthLoop: false,
  stallRate: 0,
  stallAfterBytes: Object.freeze({ min: 0, max: 65536 }),
  stallMs: Infinity,
  stallEveryBytes: 0,
  resetRate: 0,
  resetAfterBytes: Object.freeze({ min: 0, max: 65536 }),
  statusRate: 0,
  status: 503,
  faultsPer: 'request',
} satisfies Faults)

/** An endpoint's options after validation. */
export interface ResolvedEndpoint {
  readonly name: string
  readonly upstreamHost: string
  readonly upstreamPort: number
  /** The upstream as given, for the "listening" line. */
  readonly upstream: string
  readonly listenPort: number
  readonly faults: Faults
}

/** Options of {@link startFaultProxy} after validation. */
export interface ResolvedFaultProxyOptions {
  readonly seed: number
  readonly host: string
  readonly endpoints: readonly ResolvedEndpoint[]
}

const FAULT_KEYS = Object.keys(defaultFaults) as (keyof Faults)[]
const ENDPOINT_KEYS = new Set<string>([...FAULT_KEYS, 'upstream', 'listenPort', 'name'])

/** Validates {@link FaultProxyOptions}; throws `FAULT_PROXY_ERR_INVALID_OPTION` naming the option. Never mutates `options`. */
export function resolveFaultProxyOptions(options: FaultProxyOptions): ResolvedFaultProxyOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options)
  const seed = options.seed ?? 1
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw invalidOption('seed', 'an integer from 0 to 4294967295', seed)
  const host = options.host ?? '127.0.0.1'
  if (typeof host !== 'string' || host === '') throw invalidOption('host', 'a non-empty string', host)
  if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
    throw invalidOption('endpoints', 'a non-empty array', options.endpoints)
  }
  const endpoints = options.endpoints.map((e: EndpointOptions, i) => resolveEndpoint(e, i))
  const names = new Set<string>()
  for (const e of endpoints) {
    if (names.has(e.name)) throw invalidOption(`endpoints[${endpoints.indexOf(e)}].name`, 'unique', e.name)
    names.add(e.name)
  }
  return Object.freeze({ seed, host, endpoints: Object.freeze(endpoints) })
}

function resolveEndpoint(e: EndpointOptions, i: number): ResolvedEndpoint {
  const at = `endpoints[${i}]`
  if (typeof e !== 'object' || e === null) throw invalidOption(at, 'an object', e)
  for (const key of Object.keys(e)) {
    if (!ENDPOINT_KEYS.has(key)) throw invalidOption(`${at}.${key}`, `one of the known options (${[...ENDPOINT_KEYS].join(', ')})`, key)
  }
  const { host: upstreamHost, port: upstreamPort } = parseUpstream(e.upstream, `${at}.upstream`)
  const listenPort = e.listenPort ?? 0
  if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65535) {
    throw invalidOption(`${at}.listenPort`, 'an integer from 0 to 65535', listenPort)
  }
  const name = e.name ?? `endpoint-${i}`
  if (typeof name !== 'string' || name === '') throw invalidOption(`${at}.name`, 'a non-empty string', name)
  const { upstream, listenPort: _l, name: _n, ...faults } = e
  return Object.freeze({
    name,
    upstream,
    upstreamHost,
    upstreamPort,
    listenPort,
    faults: resolveFaults(defaultFaults, faults, at),
  })
}

/** `http://host:port/anything`, `tcp://host:port` or `host:port` → host and port. */
function parseUpstream(value: unknown, name: string): { host: string; port: number } {
  const expected = 'a URL like `http://127.0.0.1:1080` or `host:port`'
  if (typeof value !== 'string' || value === '') throw invalidOption(name, expected, value)
  let url: URL
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `tcp://${value}`)
  } catch {
    throw invalidOption(name, expected, value)
  }
  const defaultPort = url.protocol === 'http:' ? 80 : undefined
  const port = url.port === '' ? defaultPort : Number(url.port)
  if (url.protocol === 'https:') throw invalidOption(name, 'a plain http or tcp upstream (TLS is forwarded as bytes: give `host:port`)', value)
  if (url.hostname === '' || port === undefined) throw invalidOption(name, expected, value)
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port }
}

/**
 * `base` with `patch` applied and every field checked; `at` prefixes option names in errors
 * (`endpoints[0].stallRate`). Throws `FAULT_PROXY_ERR_INVALID_OPTION`.
 */
export function resolveFaults(base: Faults, patch: Partial<Faults>, at = ''): Faults {
  const n = (key: string): string => (at === '' ? key : `${at}.${key}`)
  if (typeof patch !== 'object' || patch === null) throw invalidOption(at === '' ? 'faults' : at, 'an object', patch)
  for (const key of Object.keys(patch)) {
    if (!(FAULT_KEYS as string[]).includes(key)) throw invalidOption(n(key), `one of the known options (${FAULT_KEYS.join(', ')})`, key)
  }
  const f: Faults = { ...base, ...definedOnly(patch) }
  checkAmount(f.latencyMs, n('latencyMs'))
  checkAmount(f.delayMs, n('delayMs'))
  checkDirection(f.delayDirection, n('delayDirection'))
  checkDirection(f.bandwidthDirection, n('bandwidthDirection'))
  if (typeof f.bandwidthLoop !== 'boolean') throw invalidOption(n('bandwidthLoop'), 'a boolean', f.bandwidthLoop)
  if (!Array.isArray(f.bandwidth)) throw invalidOption(n('bandwidth'), 'an array of { bitsPerSecond, durationMs }', f.bandwidth)
  f.bandwidth.forEach((p: BandwidthPhase, i) => {
    const pn = `${n('bandwidth')}[${i}]`
    if (typeof p !== 'object' || p === null) throw invalidOption(pn, 'an object { bitsPerSecond, durationMs }', p)
    if (typeof p.bitsPerSecond !== 'number' || !(p.bitsPerSecond >= 8)) {
      throw invalidOption(`${pn}.bitsPerSecond`, 'a number from 8 and up (or Infinity)', p.bitsPerSecond)
    }
    if (typeof p.durationMs !== 'number' || !(p.durationMs > 0) || !Number.isFinite(p.durationMs)) {
      throw invalidOption(`${pn}.durationMs`, 'a finite number above 0', p.durationMs)
    }
  })
  for (const key of ['stallRate', 'resetRate', 'statusRate'] as const) checkProbability(f[key], n(key))
  if (f.stallRate + f.resetRate + f.statusRate > 1) {
    throw invalidOption(n('stallRate + resetRate + statusRate'), 'at most 1', f.stallRate + f.resetRate + f.statusRate)
  }
  checkAmount(f.stallAfterBytes, n('stallAfterBytes'), true)
  checkAmount(f.resetAfterBytes, n('resetAfterBytes'), true)
  if (typeof f.stallMs !== 'number' || !(f.stallMs >= 0)) throw invalidOption(n('stallMs'), 'a number from 0 and up (or Infinity)', f.stallMs)
  if (!Number.isSafeInteger(f.stallEveryBytes) || f.stallEveryBytes < 0) throw invalidOption(n('stallEveryBytes'), 'an integer from 0 and up', f.stallEveryBytes)
  if (!Number.isInteger(f.status) || f.status < 400 || f.status > 599) throw invalidOption(n('status'), 'an integer from 400 to 599', f.status)
  if (f.faultsPer !== 'request' && f.faultsPer !== 'connection') throw invalidOption(n('faultsPer'), "'request' or 'connection'", f.faultsPer)
  return Object.freeze({ ...f, bandwidth: Object.freeze(f.bandwidth.map((p) => Object.freeze({ ...p }))) })
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

function checkProbability(v: unknown, name: string): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw invalidOption(name, 'a number from 0 to 1', v)
}

function checkDirection(v: unknown, name: string): void {
  if (v !== 'both' && v !== 'upload' && v !== 'download') throw invalidOption(name, "'both', 'upload' or 'download'", v)
}

function checkAmount(v: unknown, name: string, integer = false): void {
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0 && (!integer || Number.isInteger(x))
  const expected = `${integer ? 'an integer' : 'a finite number'} from 0 and up, or { min, max } of those with min <= max`
  if (typeof v === 'number') {
    if (!ok(v)) throw invalidOption(name, expected, v)
    return
  }
  if (typeof v !== 'object' || v === null) throw invalidOption(name, expected, v)
  const r = v as Partial<Range>
  if (!ok(r.min) || !ok(r.max) || r.min > r.max) throw invalidOption(name, expected, v)
}

/** A draw of `a` with `u` in [0, 1): the number itself, or `min + u·(max − min)` (floored when `integer`). */
export function drawAmount(a: Amount, u: number, integer = false): number {
  if (typeof a === 'number') return a
  const x = a.min + u * (a.max - a.min + (integer ? 1 : 0))
  return integer ? Math.min(a.max, Math.floor(x)) : x
}
