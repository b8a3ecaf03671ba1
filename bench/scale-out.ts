// Scale-out figures of issue 10, each a same-run comparison with interleaved rounds:
//   1. ingest    the SDK → one gateway (embedded default: fs backends, local locks)
//                vs the SDK with endpoints [A, B] → two gateways on one Redis prefix and one set of backend dirs
//                vs the SDK → one gateway on Redis (same backend layout as the pair)
//   2. patch     200 × 64 KiB PATCHes (+ a HEAD after each) to one upload, one request at a time,
//                against a gateway without and with --redis-url, alternating request by request
//   3. s3        the same ingest into a gateway whose 6 backends are radosgw buckets vs directories;
//                skipped (reported, not failed) when TESSERA_S3_ENDPOINT is unset
// Every gateway and client is a child process, fresh per round; Redis prefixes and S3 prefixes are
// unique per round and removed afterwards. Not in `npm run bench` (CI time budget): run it on its own.
//
//   node --import tsx bench/scale-out.ts [--quick] [--size 512MiB] [--rounds N] [--patches 200]
//     [--patch-bytes 64KiB] [--s3-size SIZE] [--only ingest,patch,s3]
//
// Redis is REDIS_URL (default redis://127.0.0.1:6379), as for the tests: the same fixture drops the keys.
// Writes bench/results/scale-out.json and bench/results/scale-out.md (see bench/README.md).
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { REDIS_URL, dropKeys } from '@tessera/cluster/testing'
import { runSdkClient, type SdkClientSummary } from './lib/sdk-client.js'
import { type StartedGateway, startGateway } from './lib/gateway.js'
import { machineAfter, machineBefore } from './lib/machine.js'
import { cpuSeconds, stopChild } from './lib/proc.js'
import { seededBytes, sha256Url, writeSeededFile } from './lib/seeded-file.js'
import { formatBytes, median, parseBytes, percentile, round, sameRoundRatios } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    size: { type: 'string' },
    rounds: { type: 'string' },
    patches: { type: 'string' },
    'patch-bytes': { type: 'string', default: '64KiB' },
    's3-size': { type: 'string' },
    only: { type: 'string', default: 'ingest,patch,s3' },
  },
})
const quick = values.quick
const size = parseBytes(values.size ?? (quick ? '128MiB' : '512MiB'))
const s3Size = parseBytes(values['s3-size'] ?? values.size ?? (quick ? '128MiB' : '512MiB'))
const rounds = Number(values.rounds ?? (quick ? 3 : 5))
const s3Rounds = quick ? 2 : Math.max(3, rounds - 2)
const patchRounds = quick ? 2 : 3
const patches = Number(values.patches ?? (quick ? 100 : 200))
const patchBytes = parseBytes(values['patch-bytes'])
const only = new Set(values.only.split(','))
const GiB = 2 ** 30
const TUS = { 'Tus-Resumable': '1.0.0' }
const WIDTH = 6 // 4+2, the gateway's default geometry
/** Bounds every SDK upload (the child aborts it) and the child process itself. */
const uploadTimeoutMs = quick ? 60_000 : 240_000
const s3 = process.env['TESSERA_S3_ENDPOINT']
const tag = randomBytes(3).toString('hex')

/** Every gateway this run started, so an exception still stops them all. */
const live = new Set<StartedGateway>()
async function gateway(data: string, args: readonly string[]): Promise<StartedGateway> {
  const gw = await startGateway(data, args)
  live.add(gw)
  return gw
}
async function stopAll(gws: readonly StartedGateway[]): Promise<void> {
  await Promise.all(gws.map(async (gw) => {
    await stopChild(gw.server)
    live.delete(gw)
  }))
}
process.once('exit', () => {
  for (const gw of live) gw.server.child.kill('SIGKILL')
})

const redisArgs = (prefix: string) => ['--redis-url', REDIS_URL, '--redis-prefix', prefix]
const dirBackends = (root: string) => ['--backends', Array.from({ length: WIDTH }, (_, i) => join(root, `b${i}`)).join(',')]
const s3Backends = (prefix: string) => [
  '--backends', Array.from({ length: WIDTH }, (_, i) => `s3://tessera-scale-bench-${i}/${prefix}`).join(','),
  '--s3-endpoint', s3!, '--s3-force-path-style', '--s3-create-buckets',
]

const sdkUpload = (file: string, endpoints: readonly string[]): Promise<SdkClientSummary> =>
  runSdkClient(file, endpoints, { extraArgs: ['--upload-timeout-ms', String(uploadTimeoutMs)], timeoutMs: uploadTimeoutMs + 30_000 })

// ————————————————————————————————————————— 1 and 3: ingest —————————————————————————————————————————

interface IngestVariant {
  readonly name: string
  readonly describe: string
  /** Starts the gateways of one round; the SDK gets every one's endpoint. `cleanup` runs after they stopped. */
  start(data: string, round: number): Promise<RoundGateways>
}

interface RoundGateways { gateways: StartedGateway[]; cleanup?: () => Promise<void> }

/** One gateway, the embedded default: its own 6 backend directories, local locks, in-process queue. */
const embedded = async (data: string): Promise<RoundGateways> => ({ gateways: [await gateway(join(data, 'a'), [])] })

/**
 * Gateways `names` on Redis prefix `prefix` and one set of backend directories; the cleanup drops
 * the prefix's keys (records, manifests, locks, the BullMQ queue).
 */
async function onRedis(data: string, prefix: string, names: readonly string[]): Promise<RoundGateways> {
  const shared = [...dirBackends(join(data, 'backends')), ...redisArgs(prefix)]
  const gateways: StartedGateway[] = []
  // One after the other: the first creates each backend directory's id file, the others read it.
  for (const name of names) gateways.push(await gateway(join(data, name), shared))
  return { gateways, cleanup: () => dropKeys(prefix) }
}

const ingestVariants: IngestVariant[] = [
  {
    name: 'one',
    describe: 'SDK → one gateway, embedded default (fs backends, local locks, in-process queue)',
    start: embedded,
  },
  {
    name: 'two',
    describe: 'SDK endpoints [A, B] → two gateways on one Redis prefix and one set of backend dirs',
    start: (data, r) => onRedis(data, `tessera-bench-${tag}-two-r${r}`, ['a', 'b']),
  },
  {
    name: 'redis',
    describe: 'SDK → one gateway on Redis (same backend layout as two)',
    start: (data, r) => onRedis(data, `tessera-bench-${tag}-redis-r${r}`, ['a']),
  },
]

const storageVariants: IngestVariant[] = [
  {
    name: 'fs',
    describe: 'SDK → one gateway, 6 backend directories (embedded default)',
    start: embedded,
  },
  {
    name: 's3',
    describe: 'SDK → one gateway, 6 backends = radosgw buckets (one bucket each, a fresh prefix per round)',
    async start(data, r) {
      return { gateways: [await gateway(join(data, 'a'), s3Backends(`r${r}-${tag}`))] }
    },
  },
]

interface IngestSample {
  round: number
  variant: string
  failed?: string
  mbPerSecond: number
  wallMs: number
  /** Per gateway, CPU-s/GiB of the file (user + system during the upload). */
  gatewayCpuSecondsPerGiB: number[]
  totalGatewayCpuSecondsPerGiB: number
  clientCpuSecondsPerGiB: number
  clientPeakRssMiB: number
  verified?: string
  deleted?: number
}

async function ingestOne(v: IngestVariant, r: number, work: string, file: string, bytes: number, verify: string | undefined, removeAfter: boolean): Promise<IngestSample> {
  const data = await mkdtemp(join(work, `${v.name}-r${r}-`))
  let started: RoundGateways | undefined
  try {
    started = await v.start(data, r)
    const gws = started.gateways
    const cpu0 = gws.map((g) => cpuSeconds(g.server.pid))
    const result = await sdkUpload(file, gws.map((g) => g.endpoint))
    const perGw = gws.map((g, i) => (cpuSeconds(g.server.pid) - cpu0[i]!) / (bytes / GiB))
    const sample: IngestSample = {
      round: r,
      variant: v.name,
      mbPerSecond: bytes / 1e6 / (result.wallMs / 1000),
      wallMs: result.wallMs,
      gatewayCpuSecondsPerGiB: perGw.map((x) => round(x)),
      totalGatewayCpuSecondsPerGiB: round(perGw.reduce((a, b) => a + b, 0)),
      clientCpuSecondsPerGiB: round(result.cpuSeconds / (bytes / GiB)),
      clientPeakRssMiB: round(result.peakRssMiB, 1),
    }
    // Read back through the *other* gateway when there are two: the bytes must be on shared storage.
    const url = new URL(result.url!)
    const reader = gws.find((g) => new URL(g.endpoint).origin !== url.origin) ?? gws[0]!
    const readUrl = `${new URL(reader.endpoint).origin}${url.pathname}`
    if (verify !== undefined) {
      const got = await sha256Url(readUrl)
      if (got.status !== 200 || got.bytes !== bytes || got.sha256 !== verify) throw new Error(`${v.name}: GET ${readUrl} answered ${got.status}, ${got.bytes} bytes, sha256 ${got.sha256} (expected ${verify})`)
      sample.verified = `GET via ${reader === gws[0] ? 'the gateway' : 'the other gateway'}: sha256 ${got.sha256.slice(0, 16)}… = source`
      console.error(`  ${v.name}: stored bytes verified (${sample.verified})`)
    }
    if (removeAfter) {
      // radosgw keeps objects in RAM (memstore): free them before the next round.
      const res = await fetch(readUrl, { method: 'DELETE', headers: TUS, signal: AbortSignal.timeout(60_000) })
      sample.deleted = res.status
    }
    return sample
  } catch (err) {
    const message = String((err as Error).message ?? err).split('\n').slice(0, 3).join(' ').slice(0, 500)
    const stderr = started?.gateways.map((g) => g.server.stderr().slice(-1500)).join('\n---\n') ?? ''
    console.error(`  ${v.name} round ${r}: FAILED — ${message}\n${stderr}`)
    return { round: r, variant: v.name, failed: message } as IngestSample
  } finally {
    if (started) await stopAll(started.gateways)
    await started?.cleanup?.()
    await rm(data, { recursive: true, force: true })
  }
}

async function ingestPart(variants: IngestVariant[], n: number, work: string, file: string, bytes: number, sha256: string, removeAfter: boolean): Promise<IngestSample[]> {
  const samples: IngestSample[] = []
  const verified = new Set<string>()
  for (let r = 1; r <= n; r++) {
    for (const v of variants.map((_, i) => variants[(i + r - 1) % variants.length]!)) {
      const s = await ingestOne(v, r, work, file, bytes, verified.has(v.name) ? undefined : sha256, removeAfter)
      samples.push(s)
      if (s.failed) continue
      verified.add(v.name)
      console.error(`round ${r} ${v.name.padEnd(6)} ${s.mbPerSecond.toFixed(0).padStart(5)} MB/s  gateway CPU-s/GiB ${s.gatewayCpuSecondsPerGiB.join(' + ')}`)
    }
  }
  return samples
}


function summarizeIngest(samples: IngestSample[], variants: IngestVariant[]) {
  return Object.fromEntries(variants.map((v) => {
    const ok = samples.filter((s) => s.variant === v.name && !s.failed)
    const width = ok[0]?.gatewayCpuSecondsPerGiB.length ?? 1
    return [v.name, {
      describe: v.describe,
      mbPerSecond: round(median(ok.map((s) => s.mbPerSecond))),
      mbPerSecondRounds: ok.map((s) => round(s.mbPerSecond)),
      gatewayCpuSecondsPerGiB: Array.from({ length: width }, (_, i) => round(median(ok.map((s) => s.gatewayCpuSecondsPerGiB[i] ?? Number.NaN)))),
      totalGatewayCpuSecondsPerGiB: round(median(ok.map((s) => s.totalGatewayCpuSecondsPerGiB))),
      clientCpuSecondsPerGiB: round(median(ok.map((s) => s.clientCpuSecondsPerGiB))),
      failed: samples.filter((s) => s.variant === v.name && s.failed).length,
    }]
  }))
}

// ————————————————————————————————————————— 2: the cost of Redis on a PATCH —————————————————————————————————————————

interface PatchLane { name: 'local' | 'redis'; gw: StartedGateway; url: string; offset: number; patchMs: number[]; headMs: number[] }

async function timed(url: string, init: RequestInit, expect: number): Promise<{ ms: number; res: Response }> {
  const t0 = performance.now()
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) })
  await res.arrayBuffer()
  const ms = performance.now() - t0
  if (res.status !== expect) throw new Error(`${init.method} ${url}: ${res.status}, expected ${expect}`)
  return { ms, res }
}

async function patchRound(r: number, work: string) {
  const data = await mkdtemp(join(work, `patch-r${r}-`))
  const prefix = `tessera-bench-${tag}-patch-r${r}`
  const gws: StartedGateway[] = []
  try {
    gws.push(await gateway(join(data, 'local'), []))
    gws.push(await gateway(join(data, 'redis'), redisArgs(prefix)))
    const body = seededBytes(patchBytes, 0x9a7c4 + r)
    const lanes: PatchLane[] = []
    for (const [i, name] of (['local', 'redis'] as const).entries()) {
      const created = await fetch(gws[i]!.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': String(patches * patchBytes) }, signal: AbortSignal.timeout(15_000) })
      if (created.status !== 201) throw new Error(`POST ${name}: ${created.status}`)
      lanes.push({ name, gw: gws[i]!, url: new URL(created.headers.get('location')!, gws[i]!.endpoint).href, offset: 0, patchMs: [], headMs: [] })
    }
    // Request by request, alternating which gateway goes first, so both see the same machine.
    const deadline = Date.now() + (quick ? 25_000 : 90_000)
    for (let i = 0; i < patches && Date.now() < deadline; i++) {
      for (const lane of i % 2 === 0 ? lanes : [...lanes].reverse()) {
        const p = await timed(lane.url, { method: 'PATCH', headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(lane.offset) }, body }, 204)
        lane.offset = Number(p.res.headers.get('upload-offset'))
        lane.patchMs.push(p.ms)
        const h = await timed(lane.url, { method: 'HEAD', headers: TUS }, 200)
        if (Number(h.res.headers.get('upload-offset')) !== lane.offset) throw new Error(`HEAD ${lane.name}: offset ${h.res.headers.get('upload-offset')}, PATCH said ${lane.offset}`)
        lane.headMs.push(h.ms)
      }
    }
    return lanes.map((l) => ({ round: r, lane: l.name, patchMs: l.patchMs, headMs: l.headMs, finalOffset: l.offset }))
  } finally {
    await stopAll(gws)
    await dropKeys(prefix)
    await rm(data, { recursive: true, force: true })
  }
}

/** The first requests of a fresh gateway pay JIT warm-up and connection setup; they are left out. */
const WARMUP = 5

function summarizePatch(rows: Awaited<ReturnType<typeof patchRound>>) {
  const pooled = (lane: string, key: 'patchMs' | 'headMs') => rows.filter((x) => x.lane === lane).flatMap((x) => x[key].slice(WARMUP))
  const stat = (xs: number[]) => ({ p50: round(percentile(xs, 50), 3), p90: round(percentile(xs, 90), 3), n: xs.length })
  const perRoundDiff = (key: 'patchMs' | 'headMs') =>
    [...new Set(rows.map((x) => x.round))].map((r) => {
      const of = (lane: string) => percentile(rows.find((x) => x.round === r && x.lane === lane)![key].slice(WARMUP), 50)
      return round(of('redis') - of('local'), 3)
    })
  const out = {} as Record<'patch' | 'head', { local: ReturnType<typeof stat>; redis: ReturnType<typeof stat>; redis_minus_local_p50_ms: number; redis_minus_local_p50_ms_rounds: number[]; redis_over_local_p50: number }>
  for (const [k, key] of [['patch', 'patchMs'], ['head', 'headMs']] as const) {
    const local = stat(pooled('local', key))
    const redis = stat(pooled('redis', key))
    const diffs = perRoundDiff(key)
    out[k] = { local, redis, redis_minus_local_p50_ms: round(median(diffs), 3), redis_minus_local_p50_ms_rounds: diffs, redis_over_local_p50: round(redis.p50 / local.p50, 3) }
  }
  return out
}

// ————————————————————————————————————————— main —————————————————————————————————————————

async function main(): Promise<void> {
  const t0 = Date.now()
  const startedAt = new Date()
  const machine = machineBefore()
  const work = await mkdtemp(join(tmpdir(), 'tessera-scale-out-'))
  const parts: Record<string, { status: 'ok' | 'skipped' | 'failed'; seconds: number; reason?: string }> = {}
  let ingest: IngestSample[] = []
  let storage: IngestSample[] = []
  let patchRows: Awaited<ReturnType<typeof patchRound>> = []
  let sha256 = ''
  let s3Sha256 = ''
  const run = async (name: string, enabled: boolean, why: string, body: () => Promise<void>) => {
    const t = Date.now()
    if (!enabled) {
      parts[name] = { status: 'skipped', seconds: 0, reason: why }
      console.error(`${name}: skipped — ${why}`)
      return
    }
    try {
      await body()
      parts[name] = { status: 'ok', seconds: round((Date.now() - t) / 1000, 1) }
    } catch (err) {
      parts[name] = { status: 'failed', seconds: round((Date.now() - t) / 1000, 1), reason: String((err as Error).message ?? err).slice(0, 500) }
      console.error(`${name}: FAILED — ${parts[name]!.reason}`)
    }
  }
  const file = join(work, 'source.bin')
  const s3File = join(work, 'source-s3.bin')
  try {
    console.error(`generating ${formatBytes(size)} of seeded bytes`)
    sha256 = await writeSeededFile(file, size, 0x5ca1e)
    await run('ingest', only.has('ingest'), 'not in --only', async () => {
      ingest = await ingestPart(ingestVariants, rounds, work, file, size, sha256, false)
    })
    await run('patch', only.has('patch'), 'not in --only', async () => {
      for (let r = 1; r <= patchRounds; r++) {
        const rows = await patchRound(r, work)
        patchRows.push(...rows)
        console.error(`patch round ${r}: ${rows.map((x) => `${x.lane} PATCH p50 ${percentile(x.patchMs.slice(WARMUP), 50).toFixed(2)} ms, HEAD p50 ${percentile(x.headMs.slice(WARMUP), 50).toFixed(2)} ms`).join('; ')}`)
      }
    })
    await run('s3', only.has('s3') && s3 !== undefined, s3 === undefined ? 'no S3 server configured (TESSERA_S3_ENDPOINT unset; `eval "$(scripts/s3-local.sh start)"` starts one)' : 'not in --only', async () => {
      if (s3Size === size) s3Sha256 = sha256
      else s3Sha256 = await writeSeededFile(s3File, s3Size, 0x5ca1e)
      storage = await ingestPart(storageVariants, s3Rounds, work, s3Size === size ? file : s3File, s3Size, s3Sha256, true)
    })
  } finally {
    await stopAll([...live])
    await rm(work, { recursive: true, force: true })
  }
  const report = {
    benchmark: 'scale-out',
    command: `node --import tsx bench/scale-out.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    units: {
      mb_s: 'file bytes / 1e6 / seconds from upload() to the SDK\'s done (the final concatenation answered); median of rounds',
      ratio: 'median over rounds of the same-round MB/s ratio',
      cpu_s_per_gib: 'each gateway process\'s user+system CPU seconds during the upload (/proc/<pid>/stat) per GiB of the file; median of rounds; total = the sum over the round\'s gateways',
      ms: `one request on a keep-alive connection, request sent to body read, ${WARMUP} first of each gateway per round left out; percentiles (nearest rank) pooled over rounds`,
    },
    parts,
    ingest: parts['ingest']?.status === 'ok'
      ? {
          size_bytes: size,
          rounds,
          variants: summarizeIngest(ingest, ingestVariants),
          two_over_one: sameRoundRatios(ingest, 'two', 'one'),
          redis_over_one: sameRoundRatios(ingest, 'redis', 'one'),
          two_over_redis: sameRoundRatios(ingest, 'two', 'redis'),
          samples: ingest.map((s) => ({ ...s, mbPerSecond: round(s.mbPerSecond), wallMs: round(s.wallMs, 0) })),
        }
      : undefined,
    patch: parts['patch']?.status === 'ok'
      ? { patches, patch_bytes: patchBytes, rounds: patchRounds, ...summarizePatch(patchRows), final_offsets: patchRows.map((x) => ({ round: x.round, lane: x.lane, offset: x.finalOffset })) }
      : undefined,
    s3: parts['s3']?.status === 'ok'
      ? {
          endpoint: s3,
          size_bytes: s3Size,
          rounds: s3Rounds,
          variants: summarizeIngest(storage, storageVariants),
          s3_over_fs: sameRoundRatios(storage, 's3', 'fs'),
          samples: storage.map((s) => ({ ...s, mbPerSecond: round(s.mbPerSecond), wallMs: round(s.wallMs, 0) })),
        }
      : { skipped: parts['s3']?.reason },
    run: { quick, redisUrl: REDIS_URL, sourceSha256: sha256, seconds: round((Date.now() - t0) / 1000, 1), verified: 'once per variant (its first successful round): GET → SHA-256 equals the source; for two gateways the GET goes to the one that did not answer the final' },
    machine: machineAfter(machine),
    date: startedAt.toISOString(),
  }
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results/scale-out.json'), `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(join(here, 'results/scale-out.md'), markdown(report))
  console.log(markdown(report))
  if (Object.values(parts).some((p) => p.status === 'failed')) process.exitCode = 1
}

type Report = {
  command: string
  parts: Record<string, { status: string; seconds: number; reason?: string }>
  ingest?: { size_bytes: number; rounds: number; variants: ReturnType<typeof summarizeIngest>; two_over_one: ReturnType<typeof sameRoundRatios>; redis_over_one: ReturnType<typeof sameRoundRatios>; two_over_redis: ReturnType<typeof sameRoundRatios> }
  patch?: { patches: number; patch_bytes: number; rounds: number } & ReturnType<typeof summarizePatch>
  s3: { size_bytes?: number; rounds?: number; variants?: ReturnType<typeof summarizeIngest>; s3_over_fs?: ReturnType<typeof sameRoundRatios>; skipped?: string }
  run: { seconds: number }
  machine: ReturnType<typeof machineAfter>
  date: string
}

function markdown(report: Report): string {
  const m = report.machine
  const ingestTable = (variants: ReturnType<typeof summarizeIngest>) => [
    '| variant | MB/s (median) | MB/s per round | gateway CPU-s/GiB (each) | total gateway CPU-s/GiB | client CPU-s/GiB | failed |',
    '|---|---:|---|---:|---:|---:|---:|',
    ...Object.entries(variants).map(([k, v]) => `| ${k} | ${v.mbPerSecond} | ${v.mbPerSecondRounds.join(', ')} | ${v.gatewayCpuSecondsPerGiB.join(' + ')} | ${v.totalGatewayCpuSecondsPerGiB} | ${v.clientCpuSecondsPerGiB} | ${v.failed} |`),
    '',
    ...Object.entries(variants).map(([k, v]) => `- ${k}: ${v.describe}`),
  ]
  const r = (x: ReturnType<typeof sameRoundRatios>) => `**${x.median}** (rounds ${x.perRound.join(', ')})`
  const lines = [
    `# Scale-out: two gateways vs one, Redis per PATCH, S3 vs FS backends`,
    '',
    `\`${report.command}\` — ${report.date}, ${report.run.seconds} s; ${m.nproc} cores (${m.cpu}), Node ${m.node}; load average ${m.loadAverageBefore.join(' ')} before, ${m.loadAverageAfter.join(' ')} after. ${m.note}.`,
    '',
    `Parts: ${Object.entries(report.parts).map(([k, p]) => `${k} ${p.status}${p.reason ? ` (${p.reason})` : ''}${p.status === 'ok' ? `, ${p.seconds} s` : ''}`).join('; ')}.`,
    '',
  ]
  if (report.ingest) {
    const i = report.ingest
    lines.push(`## 1. Ingest, ${formatBytes(i.size_bytes)}, ${i.rounds} interleaved rounds`, '', ...ingestTable(i.variants), '',
      `- two / one: ${r(i.two_over_one)}`, `- redis / one (Redis alone, one gateway): ${r(i.redis_over_one)}`, `- two / redis (the second gateway, both on Redis): ${r(i.two_over_redis)}`, '')
  }
  if (report.patch) {
    const p = report.patch
    lines.push(`## 2. The cost of Redis on a PATCH: ${p.patches} × ${formatBytes(p.patch_bytes)} appends to one upload, one request at a time, ${p.rounds} rounds`, '',
      '| request | local p50 ms | local p90 ms | redis p50 ms | redis p90 ms | redis − local p50 ms (median of rounds) | redis / local p50 |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...(['patch', 'head'] as const).map((k) => `| ${k.toUpperCase()} | ${p[k].local.p50} | ${p[k].local.p90} | ${p[k].redis.p50} | ${p[k].redis.p90} | ${p[k].redis_minus_local_p50_ms} (${p[k].redis_minus_local_p50_ms_rounds.join(', ')}) | ${p[k].redis_over_local_p50} |`),
      '', `n per cell: ${p.patch.local.n} (the first ${WARMUP} requests of each gateway per round are warm-up, left out). Both gateways run at once; requests alternate between them one by one.`, '')
  }
  if (report.s3.variants) {
    const s = report.s3
    lines.push(`## 3. S3 (radosgw) vs FS backends, ${formatBytes(s.size_bytes!)}, ${s.rounds} interleaved rounds`, '', ...ingestTable(s.variants!), '', `- s3 / fs: ${r(s.s3_over_fs!)}`, '',
      'radosgw here is a single-node Ceph (memstore OSD) on the same 2 cores: its CPU is not in the gateway figure, and it competes with the gateway and the client for the cores.', '')
  } else {
    lines.push('## 3. S3 vs FS backends', '', `skipped: ${report.s3.skipped}`, '')
  }
  return lines.join('\n')
}

await main()
