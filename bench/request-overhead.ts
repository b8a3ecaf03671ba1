// What metrics and JWT verification cost a PATCH: four gateways side by side — `base` (--metrics=false,
// --auth none), `metrics` (the default: /metrics on), `jwt` (--metrics=false, --auth jwt with an
// HS256 secret; every PATCH carries a bearer token the gateway verifies) and `both` — each fed the
// same sequential PATCHes of one upload per round over one keep-alive connection, interleaved
// request by request (PATCH i goes to every gateway in turn, the order rotating), so that all four
// meet the same load on this shared machine. Per round and variant: the p50 PATCH latency (client
// side, from sending to the end of the answer) and the gateway's CPU per PATCH (/proc); the figures
// are same-round ratios against `base` (bench/README.md: compare only within one run).
//
//   node --import tsx bench/request-overhead.ts [--rounds 7] [--patches 300] [--patch-bytes 64KiB]
//
// Without a gateway that takes `--auth jwt` the JWT variants are left out (and the report says so).
// Writes bench/results/request-overhead.json and .md (docs/performance.md).
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { JWT_FLAGS, hsToken } from '../packages/client/test/helpers/jwt.js'
import { type StartedGateway, startGateway } from './lib/gateway.js'
import { machineAfter, machineBefore } from './lib/machine.js'
import { cpuSeconds, stopChild } from './lib/proc.js'
import { seededBytes } from './lib/seeded-file.js'
import { median, parseBytes, percentile, round } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, patches: { type: 'string', default: '300' }, 'patch-bytes': { type: 'string', default: '64KiB' } } })
const ROUNDS = Number(values.rounds)
const PATCHES = Number(values.patches)
const PATCH_BYTES = parseBytes(values['patch-bytes'])
const TUS = { 'Tus-Resumable': '1.0.0' }

interface Variant {
  readonly name: 'base' | 'metrics' | 'jwt' | 'both'
  readonly flags: readonly string[]
  readonly jwt: boolean
}
const ALL: readonly Variant[] = [
  { name: 'base', flags: ['--metrics=false'], jwt: false },
  { name: 'metrics', flags: [], jwt: false },
  { name: 'jwt', flags: ['--metrics=false', ...JWT_FLAGS], jwt: true },
  { name: 'both', flags: JWT_FLAGS, jwt: true },
]

/** One request on `agent`; resolves status, headers and ms from sending to the end of the answer. */
function exchange(agent: Agent, url: string, method: string, headers: Record<string, string>, body?: Uint8Array): Promise<{ status: number; location?: string; ms: number }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: { ...headers, ...(body && { 'Content-Length': String(body.length) }) } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode!, ...(res.headers.location && { location: res.headers.location }), ms: performance.now() - started }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

interface Lane {
  readonly variant: Variant
  readonly gateway: StartedGateway
  readonly agent: Agent
  readonly auth: Record<string, string>
}

/** One round: an upload of `PATCHES` bodies on every lane, PATCH i sent to each lane in turn; resolves each lane's PATCH ms and its gateway's CPU ms per PATCH. */
async function run(round: number, body: Uint8Array): Promise<{ ms: number[]; cpuMsPerPatch: number }[]> {
  const urls = await Promise.all(
    lanes.map(async (lane) => {
      const created = await exchange(lane.agent, lane.gateway.endpoint, 'POST', { ...TUS, ...lane.auth, 'Upload-Length': String(PATCHES * body.length) })
      if (created.status !== 201 || !created.location) throw new Error(`${lane.variant.name}: POST answered ${created.status}`)
      return new URL(created.location, lane.gateway.endpoint).href
    }),
  )
  const ms = lanes.map((): number[] => [])
  const cpu0 = lanes.map((lane) => cpuSeconds(lane.gateway.server.pid))
  for (let i = 0; i < PATCHES; i++) {
    for (let j = 0; j < lanes.length; j++) {
      const k = (i + j + round) % lanes.length
      const lane = lanes[k]!
      const headers = { ...TUS, ...lane.auth, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(i * body.length) }
      const res = await exchange(lane.agent, urls[k]!, 'PATCH', headers, body)
      if (res.status !== 204) throw new Error(`${lane.variant.name}: PATCH ${i} answered ${res.status}`)
      ms[k]!.push(res.ms)
    }
  }
  const cpu = lanes.map((lane, k) => ((cpuSeconds(lane.gateway.server.pid) - cpu0[k]!) * 1000) / PATCHES)
  await Promise.all(lanes.map((lane, k) => exchange(lane.agent, urls[k]!, 'DELETE', { ...TUS, ...lane.auth })))
  return lanes.map((_, k) => ({ ms: ms[k]!, cpuMsPerPatch: cpu[k]! }))
}

const machine = machineBefore()
const data = await mkdtemp(join(tmpdir(), 'tessera-bench-overhead-'))
const lanes: Lane[] = []
const skipped: string[] = []
const body = seededBytes(PATCH_BYTES, 12)
const rounds: { round: number; variant: string; p50Ms: number; p90Ms: number; cpuMsPerPatch: number }[] = []
try {
  for (const variant of ALL) {
    const gateway = await startGateway(join(data, variant.name), ['--log-level', 'warn', '--durability', 'none', '--probe', 'none', ...variant.flags]).catch((err: unknown) => {
      if (!variant.jwt) throw err
      skipped.push(`${variant.name}: the gateway did not start with ${JWT_FLAGS.slice(0, 2).join(' ')} (${String((err as Error).message).split('\n')[0]})`)
      return undefined
    })
    if (gateway) lanes.push({ variant, gateway, agent: new Agent({ keepAlive: true, maxSockets: 1 }), auth: variant.jwt ? { Authorization: `Bearer ${hsToken('bench-user')}` } : {} })
  }
  // Round 0 warms every gateway up (JIT, first stripes, the key import) and is not reported.
  for (let r = 0; r <= ROUNDS; r++) {
    const results = await run(r, body)
    if (r === 0) continue
    results.forEach(({ ms, cpuMsPerPatch }, k) => rounds.push({ round: r, variant: lanes[k]!.variant.name, p50Ms: round(median(ms), 3), p90Ms: round(percentile(ms, 90), 3), cpuMsPerPatch: round(cpuMsPerPatch, 3) }))
  }
} finally {
  for (const lane of lanes) {
    lane.agent.destroy()
    await stopChild(lane.gateway.server)
  }
  await rm(data, { recursive: true, force: true })
}

const names = lanes.map((l) => l.variant.name)
const of = (variant: string, key: 'p50Ms' | 'cpuMsPerPatch'): number[] => rounds.filter((s) => s.variant === variant).map((s) => s[key])
/** Median over rounds of variant / base in the same round. */
const ratio = (variant: string, key: 'p50Ms' | 'cpuMsPerPatch'): number => {
  const per = rounds.filter((s) => s.variant === variant).map((s) => s[key] / rounds.find((b) => b.variant === 'base' && b.round === s.round)![key])
  return round(median(per), 3)
}
const summary = Object.fromEntries(names.map((v) => [v, { p50_ms: round(median(of(v, 'p50Ms')), 3), cpu_ms_per_patch: round(median(of(v, 'cpuMsPerPatch')), 3), p50_ratio_to_base: ratio(v, 'p50Ms'), cpu_ratio_to_base: ratio(v, 'cpuMsPerPatch') }]))
const report = {
  command: `node --import tsx bench/request-overhead.ts --rounds ${ROUNDS} --patches ${PATCHES} --patch-bytes ${values['patch-bytes']}`,
  patch_bytes: PATCH_BYTES,
  patches_per_round: PATCHES,
  variants: Object.fromEntries(lanes.map((l) => [l.variant.name, l.variant.flags.join(' ') || '(defaults)'])),
  skipped,
  summary,
  rounds,
  machine: machineAfter(machine),
}
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results/request-overhead.json'), `${JSON.stringify(report, null, 2)}\n`)
const rows = names.map((v) => `| ${v} | \`${report.variants[v]}\` | ${summary[v]!.p50_ms} | ${summary[v]!.p50_ratio_to_base} | ${summary[v]!.cpu_ms_per_patch} | ${summary[v]!.cpu_ratio_to_base} |`)
writeFileSync(
  join(here, 'results/request-overhead.md'),
  [
    `# Request overhead — PATCH of ${values['patch-bytes']}, ${PATCHES} per round, ${ROUNDS} rounds`,
    '',
    `\`${report.command}\``,
    '',
    '| variant | flags | p50 ms | p50 / base (same-round median) | gateway CPU ms per PATCH | CPU / base |',
    '|---|---|---:|---:|---:|---:|',
    ...rows,
    '',
    ...(skipped.length > 0 ? ['Left out:', ...skipped.map((s) => `- ${s}`), ''] : []),
    `Load average before/after: ${JSON.stringify(report.machine)}`,
    '',
  ].join('\n'),
)
console.log(rows.join('\n'))
if (skipped.length > 0) console.log(skipped.join('\n'))
