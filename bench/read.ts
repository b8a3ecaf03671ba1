// The read bench (issue 11): a replayed read workload — Zipf-distributed objects, correlated
// sessions (object A_i is usually followed by its partner B_i), one backend slowed by 50 ms per
// read (FaultyBackend) for the middle third of the run — against three servers holding the same
// files, one after another in this run:
//   - tessera: the gateway with hedged reads, a 16 MiB echo cache and prefetch (the defaults but a
//     cache smaller than the objects, so misses reach the backends);
//   - plain: the same gateway with --hedged-reads=false --echo-memory 0 --prefetch=false;
//   - tus-server: stock @tus/server + FileStore and its own GET route (no slowed backend: one
//     directory). It may die on a GET (DESIGN.md); it is then restarted and the GET counted failed;
//   - rebalance (a lane, in no ratio): the gateway on 8 directories for 4+2 — spare backends, as an
//     operator who wants rebalancing runs it (with k + m every stripe has a block on each backend and
//     no move is possible) — hedged reads, no echoes or prefetch (echo hits load no backend), the
//     durability engine running as main.ts runs it, load windows of 1 s: its moves and imbalance.
// The three run at once and every session is replayed against each in turn (same machine noise
// for all). Then GETs of a large object not read before, Tessera (all on) vs @tus/server.
//
//   node --import tsx bench/read.ts [--quick]
//
// Writes bench/results/read.json (`read.*` is what run.ts puts in latest.json) and read.md.
import { createHash } from 'node:crypto'
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { seededRandom } from '@tessera/predict'
import { compileChild } from './lib/compile-child.js'
import { send } from './lib/http-raw.js'
import { machineAfter, machineBefore } from './lib/machine.js'
import { alive, type Started, startChild, stopChild } from './lib/proc.js'
import { seededBytes, writeSeededFile } from './lib/seeded-file.js'
import { formatBytes, median, percentile, round } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
const quick = values.quick
/** Objects (half A, half their partners B), bytes each, sessions per phase, cold object bytes. */
const P = quick ? { objects: 48, objectBytes: 1 << 20, sessionsPerPhase: 100, coldBytes: 128 << 20 } : { objects: 96, objectBytes: 1 << 20, sessionsPerPhase: 500, coldBytes: 1 << 30 }
const CONCURRENCY = 4
const SLOW_MS = 50
const ZIPF_S = 1.1
const FOLLOW = 0.8
const TUS = { 'Tus-Resumable': '1.0.0' }
const SEED = 11
/** Cold GETs per server (the first is colder: the page cache has the file only from its upload). */
const COLD_ROUNDS = 3

type Name = 'tessera' | 'plain' | 'tus-server' | 'rebalance'
interface Server {
  started: Started
  origin: string
}
interface Target {
  readonly name: Name
  readonly describe: string
  start(data: string): Promise<Server>
}

const readGateway = compileChild('read-gateway')
const tusServer = compileChild('tus-server')
const originOf = (s: Started): Server => ({ started: s, origin: new URL(s.match[1]!).origin })
const gateway = (flags: string[] | ((data: string) => string[])) => async (data: string) =>
  originOf(await startChild(process.execPath, [readGateway, '--slow-ms', String(SLOW_MS), '--port', '0', '--data', data, ...(typeof flags === 'function' ? flags(data) : flags)], /listening: (http:\/\/\S+)/))
/** Backends of the rebalancing lane: k + m + 2 directories. */
const SPARE_WIDTH = 8
const TARGETS: Target[] = [
  { name: 'tessera', describe: 'gateway 4+2, hedged reads, --echo-memory 16MiB, prefetch (threshold 0.6, 2 stripes)', start: gateway(['--echo-memory', '16MiB']) },
  { name: 'plain', describe: 'gateway 4+2, --hedged-reads=false --echo-memory 0 --prefetch=false', start: gateway(['--hedged-reads=false', '--echo-memory', '0', '--prefetch=false']) },
  { name: 'tus-server', describe: "@tus/server 2.4.5 + @tus/file-store, its own GET route", start: async (data) => originOf(await startChild(process.execPath, [tusServer, '--data', data], /listening: (http:\/\/\S+)/)) },
  {
    name: 'rebalance',
    describe: `gateway 4+2 on ${SPARE_WIDTH} directories, hedged reads, --echo-memory 0 --prefetch=false, durability engine started, --load-window 1s (rebalancing defaults: threshold 1, 4 moves per window)`,
    start: gateway((data) => ['--backends', Array.from({ length: SPARE_WIDTH }, (_, i) => join(data, `b${i}`)).join(','), '--echo-memory', '0', '--prefetch=false', '--load-window', '1s', '--durability']),
  },
]

/** The workload, the same for every target: per phase, sessions of object indexes. */
function sessions(): number[][][] {
  const random = seededRandom(SEED)
  const half = P.objects / 2
  const weights = Array.from({ length: half }, (_, i) => 1 / (i + 1) ** ZIPF_S)
  const total = weights.reduce((a, b) => a + b, 0)
  const zipf = (): number => {
    let u = random() * total
    for (let i = 0; i < half; i++) if ((u -= weights[i]!) <= 0) return i
    return half - 1
  }
  const session = (): number[] => {
    const a = zipf()
    return [a, random() < FOLLOW ? a + half : Math.floor(random() * P.objects)]
  }
  return [0, 1, 2].map(() => Array.from({ length: P.sessionsPerPhase }, session))
}

interface Sample {
  readonly phase: number
  readonly ms: number
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })

/** GETs `url`; resolves ms to the body's end and its SHA-256 (or rejects on a socket error / non-200). */
function get(url: string, headers: Record<string, string>, hash: boolean): Promise<{ ms: number; sha256: string; bytes: number }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        return reject(new Error(`GET ${url}: ${res.statusCode}`))
      }
      const h = hash ? createHash('sha256') : undefined
      let bytes = 0
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength
        h?.update(chunk)
      })
      res.on('end', () => resolve({ ms: performance.now() - started, sha256: h?.digest('hex') ?? '', bytes }))
      res.on('error', reject)
    })
    req.setTimeout(60_000, () => req.destroy(new Error('no response in 60 s')))
    req.on('error', reject)
    req.end()
  })
}

/** Creates an upload and PATCHes `body` (a Buffer or a file path, streamed); resolves its path. */
async function upload(origin: string, length: number, body: Buffer | string): Promise<string> {
  const created = await send(`${origin}/files`, 'POST', { ...TUS, 'Upload-Length': String(length) }, undefined, 10_000)
  if (created.status !== 201) throw new Error(`POST: ${created.status}`)
  const path = new URL(created.headers['location'] as string, origin).pathname
  await new Promise<void>((resolve, reject) => {
    const req = request(`${origin}${path}`, { method: 'PATCH', agent: false, headers: { ...TUS, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream', 'Content-Length': String(length) } }, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`PATCH: ${res.statusCode}`))))
    })
    req.on('error', reject)
    if (typeof body === 'string') createReadStream(body).pipe(req)
    else req.end(body)
  })
  return path
}

interface TargetResult {
  readonly name: Name
  readonly describe: string
  readonly samples: Sample[]
  failed: number
  wrongBodies: number
  crashes: number
  read?: Record<string, unknown>
  coldMbPerSecond?: number
  /** The rebalancing lane's status, polled every second and at the end. */
  lane?: LaneStatus[]
}

/** What the rebalancing lane's `GET /_tessera/read` says at one moment: each backend's imbalance score, the moves. */
interface LaneStatus {
  readonly load: readonly { readonly backend: string; readonly imbalance: number }[]
  readonly rebalance: { readonly planned: number; readonly done: number; readonly failed: number; readonly skipped: number; readonly bytesMoved: number }
}

async function status(r: Running): Promise<LaneStatus> {
  const st = (await (await fetch(`${r.server.origin}/_tessera/read`)).json()) as { load: { backends: LaneStatus['load'] }; rebalance: LaneStatus['rebalance'] }
  return { load: st.load.backends.map(({ backend, imbalance }) => ({ backend, imbalance })), rebalance: st.rebalance }
}

/**
 * The lane's figures: moves and bytes at the end; the backend with the largest imbalance score
 * before the first move was planned (the hot one; the last poll when none was), its score then and at the end.
 */
function laneFigures(polls: readonly LaneStatus[]): { done: number; failed: number; bytesMoved: number; hotBackend: string | null; before: number | null; after: number | null } {
  const last = polls.at(-1)!
  const beforeMoves = polls.filter((p) => p.rebalance.planned === 0)
  let hot: { backend: string; imbalance: number } | undefined
  for (const p of beforeMoves.length > 0 ? beforeMoves : [last]) for (const b of p.load) if (!hot || b.imbalance > hot.imbalance) hot = b
  const after = hot && last.load.find((b) => b.backend === hot!.backend)
  return { done: last.rebalance.done, failed: last.rebalance.failed, bytesMoved: last.rebalance.bytesMoved, hotBackend: hot?.backend ?? null, before: hot ? round(hot.imbalance, 3) : null, after: after ? round(after.imbalance, 3) : null }
}

/** A target being measured: its server (replaced when it died), the paths of the objects on it, its figures. */
class Running {
  readonly result: TargetResult
  paths: string[] = []
  #restarting: Promise<void> | undefined

  private constructor(
    readonly target: Target,
    readonly data: string,
    public server: Server,
  ) {
    this.result = { name: target.name, describe: target.describe, samples: [], failed: 0, wrongBodies: 0, crashes: 0 }
  }

  static async start(target: Target): Promise<Running> {
    const data = await mkdtemp(join(tmpdir(), `tessera-read-${target.name}-`))
    return new Running(target, data, await target.start(data))
  }

  /** One GET of object `index`, recorded in `phase`; a server that died (@tus/server on a GET) is restarted once, however many GETs saw it. */
  async get(index: number, sha: string, phase: number, headers: Record<string, string>): Promise<void> {
    try {
      const got = await get(`${this.server.origin}${this.paths[index]}`, headers, true)
      if (got.sha256 !== sha) this.result.wrongBodies++
      this.result.samples.push({ phase, ms: got.ms })
    } catch {
      this.result.failed++
      if (this.#restarting || !alive(this.server.started.pid) || this.server.started.child.exitCode !== null) {
        await (this.#restarting ??= this.target.start(this.data).then((next) => {
          this.result.crashes++
          this.server = next
          this.#restarting = undefined
        }))
      }
    }
  }

  async stop(): Promise<void> {
    await stopChild(this.server.started)
    await rm(this.data, { recursive: true, force: true })
  }
}

/**
 * The three targets at once, interleaved: every session runs against each in turn, so a burst of
 * load from the rest of the machine hits them alike (compare only within one run). Then the cold
 * GET, alternating Tessera and @tus/server over `COLD_ROUNDS` rounds (the median counts).
 */
async function measure(work: number[][][], coldFile: string): Promise<TargetResult[]> {
  const running: Running[] = []
  try {
    for (const target of TARGETS) running.push(await Running.start(target))
    const bodies = Array.from({ length: P.objects }, (_, i) => seededBytes(P.objectBytes, SEED + 100 + i))
    const sha = bodies.map((b) => createHash('sha256').update(b).digest('hex'))
    for (const r of running) for (const body of bodies) r.paths.push(await upload(r.server.origin, body.length, body))
    const gateways = running.filter((r) => r.target.name !== 'tus-server')
    const lane = running.find((r) => r.target.name === 'rebalance')!
    const polls: LaneStatus[] = []
    const poll = setInterval(() => void status(lane).then((st) => polls.push(st), () => undefined), 1000)
    let n = 0
    for (const [phase, list] of work.entries()) {
      console.error(`read: ${Math.round(performance.now() / 1000)} s phase ${phase + 1}${phase === 1 ? ` (backend 0 +${SLOW_MS} ms)` : ''}`)
      for (const g of gateways) g.server.started.child.kill(phase === 1 ? 'SIGUSR1' : 'SIGUSR2')
      const queue = list.flatMap((session) => running.map((r) => ({ session, r, id: `s${n++}` })))
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let job = queue.shift(); job; job = queue.shift()) {
            for (const object of job.session) await job.r.get(object, sha[object]!, phase, { 'Tessera-Read-Session': job.id })
          }
        }),
      )
    }
    clearInterval(poll)
    // Moves planned in the last windows still run through the durability queue: up to 5 s for them.
    for (let wait = 0; wait < 10; wait++) {
      const st = await status(lane)
      polls.push(st)
      if (st.rebalance.planned <= st.rebalance.done + st.rebalance.failed + st.rebalance.skipped) break
      await sleep(500)
    }
    lane.result.lane = polls
    const tessera = running.find((r) => r.target.name === 'tessera')!
    tessera.result.read = (await (await fetch(`${tessera.server.origin}/_tessera/read`)).json()) as Record<string, unknown>
    const cold = running.filter((r) => r.target.name === 'tessera' || r.target.name === 'tus-server')
    const rates = new Map<Running, number[]>(cold.map((r) => [r, []]))
    for (const r of cold) r.paths.push(await upload(r.server.origin, P.coldBytes, coldFile))
    for (let round = 0; round < COLD_ROUNDS; round++) {
      for (const r of round % 2 === 0 ? cold : [...cold].reverse()) {
        const got = await get(`${r.server.origin}${r.paths.at(-1)}`, {}, false)
        if (got.bytes !== P.coldBytes) throw new Error(`${r.target.name}: cold GET returned ${got.bytes} bytes`)
        rates.get(r)!.push(P.coldBytes / 1e6 / (got.ms / 1000))
      }
    }
    for (const [r, xs] of rates) r.result.coldMbPerSecond = median(xs)
    return running.map((r) => r.result)
  } finally {
    await Promise.all(running.map((r) => r.stop()))
  }
}

const s = (ms: number): number => round(ms / 1000, 4)
const p = (samples: Sample[], phases: number[], q: number): number => s(percentile(samples.filter((x) => phases.includes(x.phase)).map((x) => x.ms), q))

async function main(): Promise<void> {
  const machine = machineBefore()
  const started = performance.now()
  const work = sessions()
  const scratch = await mkdtemp(join(tmpdir(), 'tessera-read-cold-'))
  const coldFile = join(scratch, 'cold.bin')
  await writeSeededFile(coldFile, P.coldBytes, SEED)
  let results: TargetResult[]
  try {
    results = await measure(work, coldFile)
  } finally {
    await rm(scratch, { recursive: true, force: true })
    agent.destroy()
  }
  const by = (name: Name) => results.find((r) => r.name === name)!
  const tessera = by('tessera')
  const plain = by('plain')
  const tus = by('tus-server')
  const reads = tessera.read!['reads'] as Record<string, number>
  const echoes = tessera.read!['echoes'] as Record<string, number>
  const prefetch = tessera.read!['prefetch'] as Record<string, number>
  const moves = laneFigures(by('rebalance').lane!)
  const read = {
    p50_s: p(tessera.samples, [1], 50),
    p99_s: p(tessera.samples, [1], 99),
    p99_s_no_slow: p(tessera.samples, [0, 2], 99),
    p50_s_plain: p(plain.samples, [1], 50),
    p99_s_plain: p(plain.samples, [1], 99),
    p99_s_plain_no_slow: p(plain.samples, [0, 2], 99),
    p99_ratio_vs_plain: round(p(tessera.samples, [1], 99) / p(plain.samples, [1], 99), 3),
    p99_ratio_vs_no_slow: round(p(tessera.samples, [1], 99) / p(tessera.samples, [0, 2], 99), 3),
    p50_s_tus_server: p(tus.samples, [0, 1, 2], 50),
    p99_s_tus_server: p(tus.samples, [0, 1, 2], 99),
    hit_rate: round(echoes['hitRate']!, 3),
    prefetch_precision: round(echoes['prefetchPrecision']!, 3),
    prefetch_issued: prefetch['issued'],
    extra_read_ratio: round(reads['extraReadRatio']!, 4),
    hedges: reads['hedges'],
    hedges_denied: reads['hedgesDenied'],
    decoded_stripes: reads['decoded'],
    rebalance_moves_done: moves.done,
    rebalance_moves_failed: moves.failed,
    rebalance_bytes_moved: moves.bytesMoved,
    rebalance_hot_backend: moves.hotBackend,
    rebalance_imbalance_before: moves.before,
    rebalance_imbalance_after: moves.after,
    cold_get_mb_s: round(tessera.coldMbPerSecond!, 1),
    cold_get_mb_s_tus_server: round(tus.coldMbPerSecond!, 1),
    cold_get_ratio_vs_tus_server: round(tessera.coldMbPerSecond! / tus.coldMbPerSecond!, 3),
    gets: Object.fromEntries(results.map((r) => [r.name, r.samples.length])),
    failed_gets: Object.fromEntries(results.map((r) => [r.name, r.failed])),
    wrong_bodies: Object.fromEntries(results.map((r) => [r.name, r.wrongBodies])),
    tus_server_crashes: tus.crashes,
    workload: `${P.objects} objects of ${formatBytes(P.objectBytes)}, ${P.sessionsPerPhase} sessions per phase × 3 phases (backend 0 +${SLOW_MS} ms per read in phase 2), ${CONCURRENCY} concurrent sessions; A_i by Zipf(${ZIPF_S}) then its partner B_i with p=${FOLLOW}, else any object; cold GET of ${formatBytes(P.coldBytes)}`,
  }
  const targets = {
    p99_ratio_vs_plain: { target: '≤ 0.3', value: read.p99_ratio_vs_plain, met: read.p99_ratio_vs_plain <= 0.3 },
    p99_ratio_vs_no_slow: { target: '≤ 1.2', value: read.p99_ratio_vs_no_slow, met: read.p99_ratio_vs_no_slow <= 1.2 },
    prefetch_precision: { target: '≥ 0.6', value: read.prefetch_precision, met: read.prefetch_precision >= 0.6 },
    extra_read_ratio: { target: '≤ 0.1', value: read.extra_read_ratio, met: read.extra_read_ratio <= 0.1 },
    cold_get_ratio_vs_tus_server: { target: '≥ 0.8', value: read.cold_get_ratio_vs_tus_server, met: read.cold_get_ratio_vs_tus_server >= 0.8 },
  }
  const out = {
    benchmark: 'read',
    command: `node --import tsx bench/read.ts${quick ? ' --quick' : ''}`,
    date: new Date().toISOString(),
    quick,
    seconds: round((performance.now() - started) / 1000, 1),
    read: { ...read, targets },
    servers: Object.fromEntries(results.map((r) => [r.name, r.describe])),
    machine: machineAfter(machine),
  }
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results/read.json'), `${JSON.stringify(out, null, 2)}\n`)
  writeFileSync(join(here, 'results/read.md'), markdown(out))
  console.log(markdown(out))
}

function markdown(o: { command: string; date: string; seconds: number; read: Record<string, unknown> & { targets: Record<string, { target: string; value: number; met: boolean }> }; servers: Record<string, string> }): string {
  const r = o.read
  const t = o.read.targets
  const met = (k: string) => (t[k]!.met ? 'met' : '**missed**')
  return [
    `# Read path (${quick ? 'quick' : 'full'} run)`,
    '',
    `\`${o.command}\` — ${o.date}, ${o.seconds} s. Workload: ${r['workload']}.`,
    '',
    '| figure | Tessera | plain | @tus/server | target | |',
    '|---|---:|---:|---:|---|---|',
    `| GET p50 / p99 s, backend 0 slowed | ${r['p50_s']} / ${r['p99_s']} | ${r['p50_s_plain']} / ${r['p99_s_plain']} | ${r['p50_s_tus_server']} / ${r['p99_s_tus_server']} (no slowed backend) | | |`,
    `| p99 vs plain, slowed | ${r['p99_ratio_vs_plain']} | | | ${t['p99_ratio_vs_plain']!.target} | ${met('p99_ratio_vs_plain')} |`,
    `| p99 slowed vs its own p99 not slowed | ${r['p99_ratio_vs_no_slow']} (${r['p99_s_no_slow']} s) | (${r['p99_s_plain_no_slow']} s) | | ${t['p99_ratio_vs_no_slow']!.target} | ${met('p99_ratio_vs_no_slow')} |`,
    `| echo hit rate (blocks) | ${r['hit_rate']} | | | | |`,
    `| prefetch precision (prefetched blocks used) | ${r['prefetch_precision']} (${r['prefetch_issued']} prefetches) | | | ${t['prefetch_precision']!.target} | ${met('prefetch_precision')} |`,
    `| extra blocks read / needed | ${r['extra_read_ratio']} (${r['hedges']} hedges, ${r['hedges_denied']} denied, ${r['decoded_stripes']} stripes decoded) | | | ${t['extra_read_ratio']!.target} | ${met('extra_read_ratio')} |`,
    `| rebalancing lane (${SPARE_WIDTH} backends): moves done / failed, bytes moved | ${r['rebalance_moves_done']} / ${r['rebalance_moves_failed']}, ${formatBytes(r['rebalance_bytes_moved'] as number)} | | | | |`,
    `| lane: imbalance score of the hot backend before the first move was planned → at the end | ${r['rebalance_imbalance_before']} → ${r['rebalance_imbalance_after']} | | | | |`,
    `| cold GET MB/s | ${r['cold_get_mb_s']} | | ${r['cold_get_mb_s_tus_server']} | | |`,
    `| cold GET vs @tus/server | ${r['cold_get_ratio_vs_tus_server']} | | | ${t['cold_get_ratio_vs_tus_server']!.target} | ${met('cold_get_ratio_vs_tus_server')} |`,
    '',
    `GETs: ${JSON.stringify(r['gets'])}; failed: ${JSON.stringify(r['failed_gets'])}; wrong bodies: ${JSON.stringify(r['wrong_bodies'])}; @tus/server restarts after dying: ${r['tus_server_crashes']}.`,
    '',
    ...Object.entries(o.servers).map(([k, v]) => `- ${k}: ${v}`),
    '',
  ].join('\n')
}

await main()
