// Ingest throughput, CPU and memory of one file upload:
//   baseline              tus-js-client 4.3.1 → @tus/server 2.x + @tus/file-store (one stream; it has no concatenation)
//   tessera               the Tessera SDK (@tessera/client, the CLI's engine and defaults) → our gateway (4+2)
//   tus-gateway           tus-js-client → our gateway, one stream (what a stock client gets)
//   tus-gateway-parallel  tus-js-client `parallelUploads: 4` → our gateway (concatenation); full runs only
//   raw-put               node:http piping one PUT body into one file — the ceiling
// Every server and every client runs in a child process of its own, restarted each round (fresh
// peak RSS, fresh data dir). Variants are interleaved round by round, in a rotating order, and
// compared only within the run as per-round ratios: this machine is shared and noisy.
//
//   node --import tsx bench/ingest.ts [--quick] [--size 1GiB] [--rounds N] [--pin]
//
// --pin runs every client on CPU 0 and every server on CPU 1 (taskset): each side gets a core of
// its own, as on a machine where the client is not also the server's host (docs/performance.md).
//
// Writes bench/results/ingest.json and bench/results/ingest.md (see bench/README.md).
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { compileChild } from './lib/compile-child.js'
import { runSdkClient } from './lib/sdk-client.js'
import { startGateway } from './lib/gateway.js'
import { type Machine, machineAfter, machineBefore } from './lib/machine.js'
import { cpuTimes, peakRssMiB, pinned, runJsonChild, type Started, startChild, stopChild } from './lib/proc.js'
import { sha256File, sha256Url, writeSeededFile } from './lib/seeded-file.js'
import { formatBytes, median, parseBytes, round, sameRoundRatios } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    size: { type: 'string' },
    rounds: { type: 'string' },
    keep: { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
  },
})
const quick = values.quick
const pin = values.pin
/** The command line of a client (CPU 0) or a server (CPU 1), pinned with --pin. */
const on = (side: 'client' | 'server', args: readonly string[]): [string, string[]] => pinned(pin ? (side === 'client' ? '0' : '1') : undefined, process.execPath, args)
const size = parseBytes(values.size ?? (quick ? '128MiB' : '1GiB'))
const rounds = Number(values.rounds ?? (quick ? 3 : 6))
const GiB = 2 ** 30
const child = {
  tusServer: compileChild('tus-server'),
  rawPutServer: compileChild('raw-put-server'),
  tusClient: compileChild('tus-client'),
  rawPutClient: compileChild('raw-put-client'),
}

type VariantName = 'baseline' | 'tessera' | 'tus-gateway' | 'tus-gateway-parallel' | 'raw-put'

interface ClientResult {
  wallMs: number
  url?: string
  watchdogFires?: number
  peakRssMiB: number
  cpuSeconds: number
}

interface Variant {
  readonly name: VariantName
  readonly describe: string
  start(data: string): Promise<{ server: Started; endpoint: string }>
  upload(endpoint: string, file: string): Promise<ClientResult>
  /** SHA-256 of what the server stored, read while the server still runs. */
  stored(endpoint: string, data: string, result: ClientResult): Promise<string>
}

const tusClient = (parallel: number) => (endpoint: string, file: string) =>
  runJsonChild<ClientResult>(...on('client', [child.tusClient, '--endpoint', endpoint, '--file', file, '--parallel', String(parallel)]))

const downloadHash = async (_endpoint: string, _data: string, result: ClientResult) => {
  const got = await sha256Url(result.url!)
  if (got.status !== 200 || got.bytes !== size) throw new Error(`GET ${result.url} answered ${got.status} with ${got.bytes} bytes`)
  return got.sha256
}

const allVariants: Variant[] = [
  {
    name: 'baseline',
    describe: 'tus-js-client → @tus/server + FileStore, one PATCH',
    async start(data) {
      const server = await startChild(...on('server', [child.tusServer, '--data', data]), /listening: (http:\/\/\S+)/)
      return { server, endpoint: server.match[1]! }
    },
    upload: tusClient(1),
    // Not over GET: @tus/server's GET handler can kill its process (see get-crash.ts).
    stored: (_endpoint, data, result) => sha256File(join(data, result.url!.split('/').pop()!)),
  },
  {
    name: 'tessera',
    describe: 'Tessera SDK (CLI engine, defaults) → Tessera gateway 4+2',
    start: (data) => startGateway(data, [], pin ? '1' : undefined),
    upload: (endpoint, file) => runSdkClient(file, [endpoint], pin ? { cpus: '0' } : {}),
    stored: downloadHash,
  },
  {
    name: 'tus-gateway',
    describe: 'tus-js-client → Tessera gateway 4+2, one PATCH',
    start: (data) => startGateway(data, [], pin ? '1' : undefined),
    upload: tusClient(1),
    stored: downloadHash,
  },
  {
    name: 'tus-gateway-parallel',
    describe: 'tus-js-client parallelUploads: 4 → Tessera gateway 4+2 (concatenation)',
    start: (data) => startGateway(data, [], pin ? '1' : undefined),
    upload: tusClient(4),
    stored: downloadHash,
  },
  {
    name: 'raw-put',
    describe: 'node:http PUT → node:http server piping into one file',
    async start(data) {
      const server = await startChild(...on('server', [child.rawPutServer, '--data', data]), /listening: (http:\/\/\S+)/)
      return { server, endpoint: `${server.match[1]!}/upload` }
    },
    upload: (endpoint, file) => runJsonChild<ClientResult>(...on('client', [child.rawPutClient, '--url', endpoint, '--file', file])),
    stored: (_endpoint, data) => sha256File(join(data, 'upload')),
  },
]

// The parallel tus-js-client row is informative only; --quick leaves it out to stay within its budget.
const variants = allVariants.filter((v) => !(quick && v.name === 'tus-gateway-parallel'))

interface Sample {
  round: number
  variant: VariantName
  /** Set when the upload did not complete; such a round has no figures. */
  failed?: { error: string; serverExited: number | string | null; serverStderr: string; serverLog: string[] }
  mbPerSecond: number
  wallMs: number
  serverCpuSeconds: number
  serverCpuSecondsPerGiB: number
  serverUserSecondsPerGiB: number
  serverSystemSecondsPerGiB: number
  serverPeakRssMiB: number
  clientPeakRssMiB: number
  clientCpuSeconds: number
  watchdogFires: number
}

async function runOne(variant: Variant, round: number, work: string, file: string, verify: string | undefined): Promise<Sample> {
  const data = await mkdtemp(join(work, `${variant.name}-r${round}-`))
  const { server, endpoint } = await variant.start(data)
  try {
    const cpu0 = cpuTimes(server.pid)
    let result: ClientResult
    try {
      result = await variant.upload(endpoint, file)
    } catch (err) {
      // A failed upload is a result too: record it (with what the server said) and go on.
      const dead = server.child.exitCode !== null || server.child.signalCode !== null
      const failure = {
        error: String((err as Error).message).split('\n').find((l) => /Error|error/.test(l))?.slice(0, 500) ?? String(err).slice(0, 500),
        serverExited: dead ? (server.child.exitCode ?? server.child.signalCode) : null,
        serverStderr: server.stderr().slice(-3000),
        serverLog: server.stdout().split('\n').filter((l) => /"level":(40|50|60)/.test(l)).slice(-10),
      }
      console.error(`  ${variant.name} round ${round}: upload FAILED — ${failure.error}; server ${dead ? `exited (${failure.serverExited})` : 'alive'}\n${failure.serverStderr}\n${failure.serverLog.join('\n')}`)
      return { round, variant: variant.name, failed: failure } as unknown as Sample
    }
    const cpu1 = cpuTimes(server.pid)
    const serverUser = cpu1.user - cpu0.user
    const serverSystem = cpu1.system - cpu0.system
    const serverCpu = serverUser + serverSystem
    const serverPeak = peakRssMiB(server.pid)
    if (verify !== undefined) {
      const got = await variant.stored(endpoint, data, result)
      if (got !== verify) throw new Error(`${variant.name}: stored bytes hash ${got}, expected ${verify}`)
      console.error(`  ${variant.name}: stored bytes verified (sha256 ${got.slice(0, 16)}…)`)
    }
    return {
      round,
      variant: variant.name,
      mbPerSecond: size / 1e6 / (result.wallMs / 1000),
      wallMs: result.wallMs,
      serverCpuSeconds: serverCpu,
      serverCpuSecondsPerGiB: serverCpu / (size / GiB),
      serverUserSecondsPerGiB: serverUser / (size / GiB),
      serverSystemSecondsPerGiB: serverSystem / (size / GiB),
      serverPeakRssMiB: serverPeak,
      clientPeakRssMiB: result.peakRssMiB,
      clientCpuSeconds: result.cpuSeconds,
      watchdogFires: result.watchdogFires ?? 0,
    }
  } finally {
    await stopChild(server)
    // Drops this round's data (and its dirty pages) before the next server starts.
    await rm(data, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tessera-ingest-'))
  const file = join(work, 'source.bin')
  const startedAt = new Date()
  const machine = machineBefore()
  console.error(`generating ${formatBytes(size)} of seeded bytes in ${file}`)
  const sha256 = await writeSeededFile(file, size, 0x7e55e7a)
  const samples: Sample[] = []
  const verified = new Set<VariantName>()
  try {
    for (let r = 1; r <= rounds; r++) {
      // Rotate the order so no variant always runs first (or right after the heaviest one).
      const order = variants.map((_, i) => variants[(i + r - 1) % variants.length]!)
      for (const variant of order) {
        const sample = await runOne(variant, r, work, file, verified.has(variant.name) ? undefined : sha256)
        samples.push(sample)
        if (sample.failed) continue
        verified.add(variant.name)
        console.error(`round ${r} ${variant.name.padEnd(16)} ${sample.mbPerSecond.toFixed(0).padStart(5)} MB/s  server ${sample.serverCpuSecondsPerGiB.toFixed(2)} CPU-s/GiB, peak RSS ${sample.serverPeakRssMiB.toFixed(0)} MiB; client peak RSS ${sample.clientPeakRssMiB.toFixed(0)} MiB${sample.watchdogFires ? `; watchdog fired ${sample.watchdogFires}×` : ''}`)
      }
    }
  } finally {
    if (!values.keep) await rm(work, { recursive: true, force: true })
  }
  const report = summarize(samples, { startedAt, machine: machineAfter(machine), sha256 })
  mkdirSync(join(here, 'results'), { recursive: true })
  // A pinned run is a separate figure (docs/performance.md): it must not replace the shared-CPU one `npm run bench` reads.
  const name = pin ? 'ingest-pinned' : 'ingest'
  writeFileSync(join(here, `results/${name}.json`), `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(join(here, `results/${name}.md`), markdown(report))
  console.log(markdown(report))
}

interface VariantSummary {
  describe: string
  mbPerSecond: number
  mbPerSecondRounds: number[]
  serverCpuSecondsPerGiB: number
  serverUserSecondsPerGiB: number
  serverSystemSecondsPerGiB: number
  serverPeakRssMiB: number
  clientPeakRssMiB: number
  clientCpuSecondsPerGiB: number
  watchdogFires: number
}

function summarize(samples: Sample[], run: { startedAt: Date; machine: Machine; sha256: string }) {
  const of = (v: VariantName) => samples.filter((s) => s.variant === v && !s.failed)
  const failures = samples.filter((s) => s.failed)
  const stat = (v: VariantName, key: keyof Sample) => round(median(of(v).map((s) => s[key] as number)))
  const ratios = (num: VariantName, den: VariantName) => sameRoundRatios(samples, num, den)
  const perVariant = Object.fromEntries(
    variants.map((v): [VariantName, VariantSummary] => [
      v.name,
      {
        describe: v.describe,
        mbPerSecond: stat(v.name, 'mbPerSecond'),
        mbPerSecondRounds: of(v.name).map((s) => round(s.mbPerSecond)),
        serverCpuSecondsPerGiB: stat(v.name, 'serverCpuSecondsPerGiB'),
        serverUserSecondsPerGiB: stat(v.name, 'serverUserSecondsPerGiB'),
        serverSystemSecondsPerGiB: stat(v.name, 'serverSystemSecondsPerGiB'),
        serverPeakRssMiB: stat(v.name, 'serverPeakRssMiB'),
        clientPeakRssMiB: stat(v.name, 'clientPeakRssMiB'),
        clientCpuSecondsPerGiB: round(median(of(v.name).map((s) => s.clientCpuSeconds / (size / GiB)))),
        watchdogFires: of(v.name).reduce((n, s) => n + s.watchdogFires, 0),
      },
    ]),
  ) as Record<VariantName, VariantSummary>
  const ratio = ratios('tessera', 'baseline')
  const key = (v: VariantName) => v.replaceAll('-', '_')
  const per = (f: (x: VariantSummary) => number) => Object.fromEntries(variants.map((v) => [key(v.name), f(perVariant[v.name])]))
  return {
    benchmark: 'ingest',
    command: `node --import tsx bench/ingest.ts${quick ? ' --quick' : ''}${pin ? ' --pin' : ''}${values.size ? ` --size ${values.size}` : ''}${values.rounds ? ` --rounds ${values.rounds}` : ''}`,
    units: {
      mb_s: 'file bytes / 1e6 / wall seconds, from the client starting the upload (start() / upload()) to the server answering its last request; median of rounds',
      cpu_s_per_gib: 'server process user+system CPU seconds (from /proc/<pid>/stat, all threads) during the upload, per GiB uploaded; medians of rounds (user and sys medians are taken separately, so they need not add up)',
      rss_mib: 'peak resident set size (VmHWM) of the process, MiB; every process is fresh each round',
      ratio: 'median over rounds of the same-round MB/s ratio',
    },
    ingest: {
      baseline_mb_s: perVariant.baseline.mbPerSecond,
      tessera_mb_s: perVariant.tessera.mbPerSecond,
      raw_put_mb_s: perVariant['raw-put'].mbPerSecond,
      tus_gateway_mb_s: perVariant['tus-gateway'].mbPerSecond,
      ...(perVariant['tus-gateway-parallel'] && { tus_gateway_parallel_mb_s: perVariant['tus-gateway-parallel'].mbPerSecond }),
      ratio: ratio.median,
      ratio_rounds: ratio.perRound,
      cpu_s_per_gib: per((x) => x.serverCpuSecondsPerGiB),
      server_peak_rss_mib: per((x) => x.serverPeakRssMiB),
      client_peak_rss_mib: per((x) => x.clientPeakRssMiB),
      client_cpu_s_per_gib: per((x) => x.clientCpuSecondsPerGiB),
      other_ratios: {
        tus_gateway_over_baseline: ratios('tus-gateway', 'baseline'),
        ...(perVariant['tus-gateway-parallel'] && { tus_gateway_parallel_over_baseline: ratios('tus-gateway-parallel', 'baseline') }),
        raw_put_over_baseline: ratios('raw-put', 'baseline'),
        tessera_over_raw_put: ratios('tessera', 'raw-put'),
        tessera_over_tus_gateway: ratios('tessera', 'tus-gateway'),
      },
      watchdog_fires: Object.fromEntries(variants.map((v) => [v.name, perVariant[v.name].watchdogFires])),
      failed_uploads: Object.fromEntries(variants.map((v) => [v.name, failures.filter((s) => s.variant === v.name).length])),
      target: { target: '≥ 1.0 (≥ 1.5 as the system matures)', value: ratio.median, met: ratio.median >= 1 },
    },
    failures: failures.map((s) => ({ round: s.round, variant: s.variant, ...s.failed })),
    variants: perVariant,
    samples: samples.filter((s) => !s.failed).map((s) => ({ ...s, mbPerSecond: round(s.mbPerSecond), wallMs: round(s.wallMs, 0), serverCpuSeconds: round(s.serverCpuSeconds), serverCpuSecondsPerGiB: round(s.serverCpuSecondsPerGiB), serverUserSecondsPerGiB: round(s.serverUserSecondsPerGiB), serverSystemSecondsPerGiB: round(s.serverSystemSecondsPerGiB), serverPeakRssMiB: round(s.serverPeakRssMiB, 1), clientPeakRssMiB: round(s.clientPeakRssMiB, 1), clientCpuSeconds: round(s.clientCpuSeconds) })),
    run: {
      sizeBytes: size,
      rounds,
      quick,
      pinned: pin ? "clients on CPU 0, servers on CPU 1 (taskset)" : false,
      sourceSha256: run.sha256,
      verified: 'once per variant (round 1): SHA-256 of the stored file (baseline, raw-put) or of a GET download (gateway variants) equals the source',
    },
    machine: run.machine,
    date: run.startedAt.toISOString(),
  }
}

function markdown(report: ReturnType<typeof summarize>): string {
  const { ingest, variants: v, run, machine } = report
  const row = (name: VariantName) =>
    `| ${name} | ${v[name].mbPerSecond} | ${v[name].mbPerSecondRounds.join(', ')} | ${v[name].serverCpuSecondsPerGiB} (${v[name].serverUserSecondsPerGiB} + ${v[name].serverSystemSecondsPerGiB}) | ${v[name].serverPeakRssMiB.toFixed(0)} | ${v[name].clientPeakRssMiB.toFixed(0)} | ${v[name].watchdogFires} |`
  return [
    `# Ingest: ${formatBytes(run.sizeBytes)}, ${run.rounds} interleaved rounds${run.pinned ? `; ${run.pinned}` : ''}`,
    '',
    `\`${report.command}\` — ${report.date}, ${machine.nproc} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}; load average ${machine.loadAverageBefore.join(' ')} before, ${machine.loadAverageAfter.join(' ')} after. ${machine.note}.`,
    '',
    '| variant | MB/s (median) | MB/s per round | server CPU-s/GiB (user + sys) | server peak RSS MiB | client peak RSS MiB | watchdog fires |',
    '|---|---:|---|---:|---:|---:|---:|',
    ...variants.map((v) => row(v.name)),
    '',
    `**tessera / baseline** (median of per-round ratios; target ≥ 1.0: ${ingest.target.met ? 'met' : '**missed**'}): **${ingest.ratio}** — rounds ${ingest.ratio_rounds.join(', ')}`,
    '',
    ...Object.entries(ingest.other_ratios).map(([k, r]) => `- ${k.replaceAll('_', ' ')}: ${r.median} (rounds ${r.perRound.join(', ')})`),
    `- failed uploads (not in the figures; details in ingest.json \`failures\`): ${Object.entries(ingest.failed_uploads).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    '',
    'baseline = tus-js-client 4.3.1 → @tus/server 2.4.5 + @tus/file-store (one PATCH); tessera = the Tessera SDK (the `tessera` CLI\'s engine, default options: adaptive partitions, 4–8 in flight, SHA-256 per PATCH and per file) → gateway 4+2 (it writes 1.5× the bytes: 4 data + 2 parity blocks per stripe); tus-gateway = tus-js-client → gateway, one PATCH; tus-gateway-parallel = `parallelUploads: 4` + concatenation (full runs only); raw-put = node:http PUT piped into one file. MB/s = 1e6 bytes/s, start to the last response. Stored bytes verified by SHA-256 once per variant.',
    '',
  ].join('\n')
}

await main()
