import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { FaultProxyError } from './errors.js'
import { invalidOption } from './invalid-option.js'
import type { EndpointOptions, FaultProxyOptions } from './options.js'
import { parseAmount, parseBytes, parseDurationMs, parseRate, parseSchedule } from './units.js'

/** What `main.ts` runs: proxy options plus the CLI-only settings. */
export interface CliConfig {
  readonly proxy: FaultProxyOptions
  /** Port of the JSON stats server, or `undefined` for none. */
  readonly controlPort: number | undefined
  readonly help: boolean
}

/** `--help` text. */
export const USAGE = `Usage: node tools/fault-proxy/dist/main.js --upstream URL [options]
       node tools/fault-proxy/dist/main.js --config FILE [--seed N] [--host H] [--control PORT]

One endpoint from flags, or several from a JSON config file ({ seed, host, endpoints: [...] },
fields named as in the FaultProxyOptions / EndpointOptions of the README; strings like "200mbit:10s"
and "64KiB" are accepted where the flags take them).

  --upstream URL             where to forward, http://host:port or host:port (required without --config)
  --listen PORT              port to listen on, 0 = any free port (default 0)
  --host HOST                interface to listen on (default 127.0.0.1)
  --name NAME                endpoint name in stats (default endpoint-0)
  --seed N                   seed of every fault decision (default 1)
  --latency MS[-MS]          delay before each connection is connected upstream, e.g. 50 or 10-100
  --delay MS[-MS]            one-way delay per chunk (a delay line), e.g. 20 or 5-30
  --delay-direction D        both | upload | download (default both)
  --bandwidth SCHEDULE       e.g. 200mbit:10s,20mbit:10s,200mbit:10s (one link shared by all connections)
  --bandwidth-direction D    both | upload | download (default both)
  --bandwidth-loop           repeat the schedule (default: hold the last phase)
  --stall-rate P             probability per roll of a stall (nothing moves, socket stays open)
  --stall-after BYTES[-BYTES] bytes of the request forwarded before a stall (default 0-64KiB)
  --stall-ms MS|inf          how long a stall lasts (default inf)
  --stall-every BYTES        one stall per BYTES the endpoint carries upstream, at a seeded point (default off)
  --reset-rate P             probability per roll of a TCP reset
  --reset-after BYTES[-BYTES] bytes of the request forwarded before a reset (default 0-64KiB)
  --status-rate P            probability per roll of an injected HTTP answer instead of forwarding
  --status CODE              status of injected answers (default 503)
  --faults-per UNIT          request | connection: when dice are rolled (default request)
  --control PORT             serve GET /stats (JSON) on this port, 0 = any; prints its URL
  --help                     this text

Prints "fault-proxy listening: http://HOST:PORT -> UPSTREAM" per endpoint. SIGUSR2 prints
"fault-proxy stats: {json}"; SIGTERM/SIGINT print the final stats line, close and exit 0.
`

const FLAGS = {
  upstream: { type: 'string' },
  listen: { type: 'string' },
  host: { type: 'string' },
  name: { type: 'string' },
  seed: { type: 'string' },
  latency: { type: 'string' },
  delay: { type: 'string' },
  'delay-direction': { type: 'string' },
  bandwidth: { type: 'string' },
  'bandwidth-direction': { type: 'string' },
  'bandwidth-loop': { type: 'boolean' },
  'stall-rate': { type: 'string' },
  'stall-after': { type: 'string' },
  'stall-ms': { type: 'string' },
  'stall-every': { type: 'string' },
  'reset-rate': { type: 'string' },
  'reset-after': { type: 'string' },
  'status-rate': { type: 'string' },
  status: { type: 'string' },
  'faults-per': { type: 'string' },
  config: { type: 'string' },
  control: { type: 'string' },
  help: { type: 'boolean' },
} as const

const PROXY_WIDE = new Set(['config', 'seed', 'host', 'control', 'help'])

/**
 * Parses argv (without node and script) into a {@link CliConfig}; reads `--config` if given.
 * Throws `FAULT_PROXY_ERR_INVALID_OPTION` naming the flag, or `FAULT_PROXY_ERR_CONFIG`.
 */
export async function parseCliArgs(argv: readonly string[]): Promise<CliConfig> {
  let values: Record<string, string | boolean | undefined>
  try {
    ;({ values } = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }))
  } catch (err) {
    throw new FaultProxyError('FAULT_PROXY_ERR_INVALID_OPTION', (err as Error).message, { cause: err })
  }
  const str = (k: string): string | undefined => values[k] as string | undefined
  const controlPort = str('control') === undefined ? undefined : integer(str('control')!, '--control')
  const seed = str('seed') === undefined ? undefined : integer(str('seed')!, '--seed')
  if (values.help === true) return { proxy: { endpoints: [] }, controlPort, help: true }

  let proxy: FaultProxyOptions
  if (str('config') !== undefined) {
    const extra = Object.keys(values).filter((k) => !PROXY_WIDE.has(k))
    if (extra.length > 0) throw invalidOption(`--${extra[0]}`, 'absent with --config (endpoint settings go in the file)', values[extra[0]!])
    proxy = await readConfig(str('config')!)
  } else {
    if (str('upstream') === undefined) throw invalidOption('--upstream', 'a URL like `http://127.0.0.1:1080` (or give --config)', undefined)
    proxy = { endpoints: [endpointFromFlags(str)] }
  }
  return {
    proxy: { ...proxy, ...(seed !== undefined && { seed }), ...(str('host') !== undefined && { host: str('host')! }) },
    controlPort,
    help: false,
  }
}

function endpointFromFlags(str: (k: string) => string | undefined): EndpointOptions {
  const e: Record<string, unknown> = { upstream: str('upstream') }
  const set = (flag: string, key: string, parse: (t: string, name: string) => unknown): void => {
    const v = str(flag)
    if (v !== undefined) e[key] = parse(v, `--${flag}`)
  }
  set('listen', 'listenPort', integer)
  set('name', 'name', (t) => t)
  set('latency', 'latencyMs', (t, n) => parseAmount(t, n, parseDurationMs))
  set('delay', 'delayMs', (t, n) => parseAmount(t, n, parseDurationMs))
  set('delay-direction', 'delayDirection', (t) => t)
  set('bandwidth', 'bandwidth', parseSchedule)
  set('bandwidth-direction', 'bandwidthDirection', (t) => t)
  set('stall-rate', 'stallRate', probability)
  set('stall-after', 'stallAfterBytes', (t, n) => parseAmount(t, n, parseBytes))
  set('stall-ms', 'stallMs', parseDurationMs)
  set('stall-every', 'stallEveryBytes', parseBytes)
  set('reset-rate', 'resetRate', probability)
  set('reset-after', 'resetAfterBytes', (t, n) => parseAmount(t, n, parseBytes))
  set('status-rate', 'statusRate', probability)
  set('status', 'status', integer)
  set('faults-per', 'faultsPer', (t) => t)
  if (str('bandwidth-loop') !== undefined) e.bandwidthLoop = true
  return e as unknown as EndpointOptions
}

async function readConfig(path: string): Promise<FaultProxyOptions> {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new FaultProxyError('FAULT_PROXY_ERR_CONFIG', `cannot read config file ${path}: ${(err as Error).message}`, { cause: err })
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidOption('config', 'a JSON object { seed, host, endpoints }', raw)
  const o = raw as Record<string, unknown>
  if (!Array.isArray(o.endpoints)) throw invalidOption('endpoints', 'a non-empty array', o.endpoints)
  return { ...o, endpoints: o.endpoints.map((e: unknown, i) => normalizeEndpoint(e, `endpoints[${i}]`)) } as FaultProxyOptions
}

/** Turns the string forms a config file may use into the numbers the options take. */
function normalizeEndpoint(e: unknown, at: string): EndpointOptions {
  if (typeof e !== 'object' || e === null) return e as EndpointOptions
  const out: Record<string, unknown> = { ...(e as Record<string, unknown>) }
  const str = (key: string, parse: (t: string, name: string) => unknown): void => {
    if (typeof out[key] === 'string') out[key] = parse(out[key] as string, `${at}.${key}`)
  }
  str('latencyMs', (t, n) => parseAmount(t, n, parseDurationMs))
  str('delayMs', (t, n) => parseAmount(t, n, parseDurationMs))
  str('stallAfterBytes', (t, n) => parseAmount(t, n, parseBytes))
  str('resetAfterBytes', (t, n) => parseAmount(t, n, parseBytes))
  str('stallMs', parseDurationMs)
  str('stallEveryBytes', parseBytes)
  if (out.stallMs === null) out.stallMs = Infinity
  str('bandwidth', parseSchedule)
  if (Array.isArray(out.bandwidth)) {
    out.bandwidth = out.bandwidth.map((p: unknown, i) => {
      if (typeof p !== 'object' || p === null) return p
      const q = p as Record<string, unknown>
      const name = `${at}.bandwidth[${i}]`
      return {
        bitsPerSecond: typeof q.bitsPerSecond === 'string' ? parseRate(q.bitsPerSecond, `${name}.bitsPerSecond`) : q.bitsPerSecond === null ? Infinity : q.bitsPerSecond,
        durationMs: typeof q.durationMs === 'string' ? parseDurationMs(q.durationMs, `${name}.durationMs`) : q.durationMs,
      }
    })
  }
  return out as unknown as EndpointOptions
}

function integer(text: string, name: string): number {
  if (!/^\d+$/.test(text.trim())) throw invalidOption(name, 'a non-negative integer', text)
  return Number(text)
}

function probability(text: string, name: string): number {
  const v = Number(text)
  if (text.trim() === '' || !(v >= 0 && v <= 1)) throw invalidOption(name, 'a number from 0 to 1', text)
  return v
}
