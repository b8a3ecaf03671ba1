// Tail latency with one stalling endpoint: stock tus-js-client (one endpoint, as a load balancer
// would pick it) vs the Tessera SDK (all three endpoints, hedging), and Tessera with no faults.
//
//   node --import tsx bench/tail.ts [--quick] [--uploads 100] [--size 16MiB] [--batch 20] [--seed 7]
//
// Three fault-proxy endpoints in front of ONE gateway (the final concatenation needs every partial
// on the same storage): `a` and `b` healthy, `stall` stalls once per 48 MiB it carries upstream,
// at a seeded point (the connection stays open and moves nothing): both clients send it a third of
// their bytes, so both meet its stalls, however many requests they cut their uploads into. Uploads run one after another, in batches; each batch
// is one client process against a fresh gateway (fresh data dir) and a fresh proxy with the batch's
// seed, and the variants take turns batch by batch (rotating order) so drift on this shared
// machine hits all of them alike.
//
// Writes bench/results/tail.json and tail.md (see bench/README.md).
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type EndpointStats, startFaultProxy } from '@tessera/fault-proxy'
import { compileChild } from './lib/compile-child.js'
import { startGateway } from './lib/gateway.js'
import { machineAfter, machineBefore } from './lib/machine.js'
import { runJsonLines, stopChild } from './lib/proc.js'
import { writeSeededFile } from './lib/seeded-file.js'
import { formatBytes, median, parseBytes, percentile, round } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    uploads: { type: 'string' },
    size: { type: 'string', default: '16MiB' },
    batch: { type: 'string' },
    seed: { type: 'string', default: '7' },
    'stall-every': { type: 'string', default: '48MiB' },
    'stall-rate': { type: 'string', default: '0' },
  },
})
const quick = values.quick
const uploads = Number(values.uploads ?? (quick ? 30 : 100))
const batchSize = Math.min(uploads, Number(values.batch ?? (quick ? 10 : 20)))
const size = parseBytes(values.size)
const seed = Number(values.seed)
const stallEveryBytes = parseBytes(values['stall-every'])
const stallRate = Number(values['stall-rate'])
/** The baseline's socket timeout and retry delays (issue 4). */
const SOCKET_TIMEOUT_MS = 10_000
const RETRY_DELAYS = [0, 1000, 3000, 5000]
/** An upload not finished after this long is stopped and counted as failed (at this duration). */
const UPLOAD_CAP_MS = quick ? 60_000 : 120_000

const child = { tus: compileChild('tus-tail-client'), tessera: compileChild('tessera-client') }

type VariantName = 'baseline' | 'tessera' | 'tessera-fault-free'
const VARIANTS: VariantName[] = ['baseline', 'tessera', 'tessera-fault-free']

interface UploadSample {
  variant: VariantName
  batch: number
  i: number
  ok: boolean
  /** Seconds from start to the server's last answer; the cap for a failed upload. */
  s: number
  endpoint?: string
  retries?: number
  stalls?: number
  abandoned?: number
  hedgesStarted?: number
  hedgesWon?: number
  bytesSent?: number
  error?: string
}

interface BatchRecord {
  variant: VariantName
  batch: number
  seed: number
  code: number | string
  timedOut: boolean
  stderr?: string
  proxy: readonly EndpointStats[]
  clientPeakRssMiB?: number
}

async function runBatch(variant: VariantName, batch: number, work: string, file: string, count: number, first: number): Promise<{ samples: UploadSample[]; record: BatchRecord }> {
  const data = await mkdtemp(join(work, `${variant}-b${batch}-`))
  const gateway = await startGateway(data, ['--log-level', 'warn'])
  const origin = new URL(gateway.endpoint).origin
  const path = new URL(gateway.endpoint).pathname
  const batchSeed = seed + batch
  const proxy = await startFaultProxy({
    seed: batchSeed,
    endpoints: [
      { name: 'a', upstream: origin },
      variant === 'tessera-fault-free' ? { name: 'stall', upstream: origin } : { name: 'stall', upstream: origin, stallRate, stallEveryBytes },
      { name: 'b', upstream: origin },
    ],
  })
  const url = (name: string) => `${proxy.endpoint(name).url}${path}`
  const names = new Map(proxy.endpoints.map((e) => [`${e.url}${path}`, e.name]))
  try {
    const timeoutMs = count * UPLOAD_CAP_MS + 30_000
    let run
    if (variant === 'baseline') {
      // A load balancer's view: the stalling endpoint for every third upload, a healthy one otherwise.
      const plan = Array.from({ length: count }, (_, j) => {
        const g = first + j
        return g % 3 === 0 ? url('stall') : g % 3 === 1 ? url('a') : url('b')
      })
      run = await runJsonLines<Record<string, unknown>>(
        process.execPath,
        [child.tus, '--file', file, '--plan', plan.join(','), '--socket-timeout-ms', String(SOCKET_TIMEOUT_MS), '--retry-delays', RETRY_DELAYS.join(','), '--upload-timeout-ms', String(UPLOAD_CAP_MS)],
        { timeoutMs },
      )
    } else {
      const state = await mkdtemp(join(work, 'state-'))
      run = await runJsonLines<Record<string, unknown>>(
        process.execPath,
        [child.tessera, '--file', file, '--count', String(count), '--session', '--upload-timeout-ms', String(UPLOAD_CAP_MS), '--state-dir', state, ...['a', 'stall', 'b'].flatMap((n) => ['--endpoint', url(n)])],
        { timeoutMs },
      )
    }
    const uploadsSeen = run.lines.filter((l) => l['kind'] === 'upload')
    const samples: UploadSample[] = []
    for (let j = 0; j < count; j++) {
      const l = uploadsSeen.find((u) => u['i'] === j)
      if (!l) {
        samples.push({ variant, batch, i: first + j, ok: false, s: UPLOAD_CAP_MS / 1000, error: run.timedOut ? 'client process timed out' : `client exited (${run.code}) before this upload` })
        continue
      }
      const ok = l['ok'] === true
      samples.push({
        variant,
        batch,
        i: first + j,
        ok,
        s: ok ? (l['ms'] as number) / 1000 : Math.max(UPLOAD_CAP_MS, l['ms'] as number) / 1000,
        endpoint: typeof l['endpoint'] === 'string' ? names.get(l['endpoint']) : undefined,
        retries: l['retries'] as number | undefined,
        stalls: l['stalls'] as number | undefined,
        abandoned: l['abandoned'] as number | undefined,
        hedgesStarted: l['hedgesStarted'] as number | undefined,
        hedgesWon: l['hedgesWon'] as number | undefined,
        bytesSent: l['bytesSent'] as number | undefined,
        error: l['error'] as string | undefined,
      })
    }
    const summary = run.lines.find((l) => l['kind'] === 'summary')
    const record: BatchRecord = {
      variant,
      batch,
      seed: batchSeed,
      code: run.code,
      timedOut: run.timedOut,
      ...(run.code !== 0 && { stderr: run.stderr.slice(-2000) }),
      proxy: proxy.stats().endpoints,
      clientPeakRssMiB: summary?.['peakRssMiB'] as number | undefined,
    }
    return { samples, record }
  } finally {
    await proxy.close()
    await stopChild(gateway.server)
    await rm(data, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const machine = machineBefore()
  const startedAt = new Date()
  const work = await mkdtemp(join(tmpdir(), 'tessera-tail-'))
  const file = join(work, 'source.bin')
  await writeSeededFile(file, size, 0x7a11)
  const samples: UploadSample[] = []
  const batches: BatchRecord[] = []
  try {
    const nBatches = Math.ceil(uploads / batchSize)
    for (let b = 0; b < nBatches; b++) {
      const first = b * batchSize
      const count = Math.min(batchSize, uploads - first)
      const order = VARIANTS.map((_, i) => VARIANTS[(i + b) % VARIANTS.length]!)
      for (const variant of order) {
        const { samples: got, record } = await runBatch(variant, b, work, file, count, first)
        samples.push(...got)
        batches.push(record)
        const s = got.map((x) => x.s)
        console.error(`batch ${b} ${variant.padEnd(18)} p50 ${median(s).toFixed(2)} s, max ${Math.max(...s).toFixed(2)} s, failed ${got.filter((x) => !x.ok).length}`)
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  const report = summarize(samples, batches, { startedAt, machine: machineAfter(machine) })
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results/tail.json'), `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(join(here, 'results/tail.md'), markdown(report))
  console.log(markdown(report))
}

function summarize(samples: UploadSample[], batches: BatchRecord[], run: { startedAt: Date; machine: ReturnType<typeof machineAfter> }) {
  const of = (v: VariantName) => samples.filter((s) => s.variant === v)
  const secs = (v: VariantName) => of(v).map((s) => s.s)
  const dist = (xs: number[]) => ({ p50: round(median(xs), 3), p90: round(percentile(xs, 90), 3), p99: round(percentile(xs, 99), 3), max: round(Math.max(...xs), 3), n: xs.length })
  const perBatch = (v: VariantName, p: number) => [...new Set(of(v).map((s) => s.batch))].map((b) => round(percentile(of(v).filter((s) => s.batch === b).map((s) => s.s), p), 3))
  const tessera = of('tessera')
  const fileBytes = tessera.filter((s) => s.ok).length * size
  const sentBytes = tessera.filter((s) => s.ok).reduce((n, s) => n + (s.bytesSent ?? 0), 0)
  const proxyUp = (v: VariantName) => batches.filter((b) => b.variant === v).reduce((n, b) => n + b.proxy.reduce((m, e) => m + e.bytesUp, 0), 0)
  const stallsInjected = (v: VariantName) => batches.filter((b) => b.variant === v).reduce((n, b) => n + b.proxy.reduce((m, e) => m + e.faults.stall, 0), 0)
  const baselineP99 = percentile(secs('baseline'), 99)
  const tesseraP99 = percentile(secs('tessera'), 99)
  const faultFreeP50 = median(secs('tessera-fault-free'))
  const extra = fileBytes > 0 ? sentBytes / fileBytes - 1 : Number.NaN
  const p99Ratio = tesseraP99 / baselineP99
  const hedgesStarted = tessera.reduce((n, s) => n + (s.hedgesStarted ?? 0), 0)
  const hedgesWon = tessera.reduce((n, s) => n + (s.hedgesWon ?? 0), 0)
  const stalledUploads = tessera.filter((s) => (s.stalls ?? 0) + (s.abandoned ?? 0) > 0).length
  const abandoned = tessera.reduce((n, s) => n + (s.abandoned ?? 0), 0)
  const failed = (v: VariantName) => of(v).filter((s) => !s.ok).length
  // A fault lane that stalled nothing measured nothing: the run is invalid (README, bench/README).
  const stalledAttempts = { tessera: stallsInjected('tessera'), baseline: stallsInjected('baseline') }
  const valid = stalledAttempts.tessera > 0 && stalledAttempts.baseline > 0
  const targets = {
    p99_ratio_vs_baseline: { target: '≤ 0.2', value: round(p99Ratio, 3), met: p99Ratio <= 0.2 },
    tessera_p99_vs_fault_free_p50: { target: '≤ 1.5', value: round(tesseraP99 / faultFreeP50, 2), met: tesseraP99 <= 1.5 * faultFreeP50 },
    extra_bytes_ratio: { target: '≤ 0.05', value: round(extra, 4), met: extra <= 0.05 },
  }
  const limits = `${stalledAttempts.tessera} requests stalled in the Tessera lane and ${stalledAttempts.baseline} in the baseline's; ${stalledUploads} of ${tessera.length} Tessera uploads waited out a stall (${tessera.reduce((n, s) => n + (s.stalls ?? 0), 0)} stall timeouts, ${abandoned} attempts abandoned by the model); ${hedgesStarted} hedges started, ${hedgesWon} won; the slowest Tessera upload took ${round(Math.max(...secs('tessera')), 2)} s against a fault-free p50 of ${round(faultFreeP50, 2)} s`
  return {
    benchmark: 'tail',
    command: `node --import tsx bench/tail.ts${quick ? ' --quick' : ''}`,
    tail: {
      baseline_p99_s: round(baselineP99, 3),
      tessera_p99_s: round(tesseraP99, 3),
      tessera_fault_free_p50_s: round(faultFreeP50, 3),
      p99_ratio_vs_baseline: round(p99Ratio, 3),
      extra_bytes_ratio: round(extra, 4),
      extra_bytes_ratio_proxy: fileBytes > 0 ? round(proxyUp('tessera') / (tessera.length * size) - 1, 4) : null,
      baseline_p50_s: round(median(secs('baseline')), 3),
      tessera_p50_s: round(median(secs('tessera')), 3),
      tessera_fault_free_p99_s: round(percentile(secs('tessera-fault-free'), 99), 3),
      stalled_attempts: stalledAttempts,
      valid,
      ...(!valid && { invalid: `the fault lane stalled ${stalledAttempts.tessera} Tessera and ${stalledAttempts.baseline} baseline requests: with no stall in a lane, its tail measures no fault` }),
      targets,
      limits,
    },
    distributions_s: {
      baseline: dist(secs('baseline')),
      baseline_on_stalling_endpoint: dist(of('baseline').filter((s) => s.endpoint === 'stall').map((s) => s.s)),
      baseline_on_healthy_endpoints: dist(of('baseline').filter((s) => s.endpoint !== 'stall').map((s) => s.s)),
      tessera: dist(secs('tessera')),
      tessera_fault_free: dist(secs('tessera-fault-free')),
    },
    per_batch: Object.fromEntries(VARIANTS.map((v) => [v, { p50_s: perBatch(v, 50), p99_s: perBatch(v, 99) }])),
    counts: {
      failed_uploads: Object.fromEntries(VARIANTS.map((v) => [v, failed(v)])),
      stalls_injected: Object.fromEntries(VARIANTS.map((v) => [v, stallsInjected(v)])),
      baseline_retries: of('baseline').reduce((n, s) => n + (s.retries ?? 0), 0),
      tessera_stall_timeouts: tessera.reduce((n, s) => n + (s.stalls ?? 0), 0),
      tessera_abandoned: abandoned,
      tessera_hedges_started: hedgesStarted,
      tessera_hedges_won: hedgesWon,
      tessera_bytes_sent: sentBytes,
      tessera_file_bytes: fileBytes,
    },
    slowest: Object.fromEntries(VARIANTS.map((v) => [v, [...of(v)].sort((a, b) => b.s - a.s).slice(0, 5)])),
    batches,
    run: {
      uploads,
      batchSize,
      sizeBytes: size,
      seed,
      stallRate,
      uploadCapMs: UPLOAD_CAP_MS,
      baseline: `tus-js-client 4.3.1, one PATCH per upload, retryDelays [${RETRY_DELAYS.join(', ')}], an HttpStack that destroys a request whose socket is idle ${SOCKET_TIMEOUT_MS} ms (requestOptions.timeout alone only emits 'timeout'); endpoint per upload: stall if i % 3 == 0, else a / b`,
      tessera: 'the SDK (@tessera/client, defaults: stall timeout 15 s, hedging on, hedge budget 5%) with endpoints [a, stall, b]; one fresh upload() per upload, the uploads of a batch sharing one UploadSession (as a service uploading many files would), resume state in a temp dir',
      stallEveryBytes,
      faults: `endpoint "stall": one stall per ${formatBytes(stallEveryBytes)} it carries upstream, at a seeded point of each window (fault-proxy stallEveryBytes), the socket stays open${stallRate > 0 ? `; also a stall with probability ${stallRate} per request` : ''}. By bytes, not per request: both clients send the endpoint a third of their bytes, so both meet its stalls, whereas per-request dice hit a client in proportion to how many requests it makes (one PATCH per upload for tus-js-client: a quick run often had no stall in its lane)`,
      percentile: 'nearest rank over all uploads of a variant (p99 of 30 is the slowest); a failed upload counts at the cap',
    },
    machine: run.machine,
    date: run.startedAt.toISOString(),
  }
}

type TailReport = ReturnType<typeof summarize>

function markdown(r: TailReport): string {
  const d = r.distributions_s
  const row = (name: string, x: { p50: number; p90: number; p99: number; max: number; n: number }, notes: string) => `| ${name} | ${x.n} | ${x.p50} | ${x.p90} | ${x.p99} | ${x.max} | ${notes} |`
  const t = r.tail.targets
  const met = (x: { met: boolean }) => (x.met ? 'met' : '**missed**')
  return [
    `# Tail: ${r.run.uploads} uploads of ${formatBytes(r.run.sizeBytes)} per variant, one endpoint of three stalling once per ${formatBytes(r.run.stallEveryBytes)} it carries`,
    '',
    ...(r.tail.valid ? [] : [`**INVALID RUN**: ${r.tail.invalid}.`, '']),
    `Stalled requests in the fault lane: Tessera ${r.tail.stalled_attempts.tessera}, baseline ${r.tail.stalled_attempts.baseline}.`,
    '',
    `\`${r.command}\` — ${r.date}, ${r.machine.nproc} cores, Node ${r.machine.node}; load average ${r.machine.loadAverageBefore.join(' ')} before, ${r.machine.loadAverageAfter.join(' ')} after.`,
    '',
    '| variant | uploads | p50 s | p90 s | p99 s | max s | notes |',
    '|---|---:|---:|---:|---:|---:|---|',
    row('baseline: tus-js-client, one endpoint', d.baseline, `${r.counts.baseline_retries} retries, ${r.counts.failed_uploads.baseline} failed`),
    row('— on the stalling endpoint', d.baseline_on_stalling_endpoint, ''),
    row('— on a healthy endpoint', d.baseline_on_healthy_endpoints, ''),
    row('tessera: SDK, three endpoints', d.tessera, `${r.counts.tessera_stall_timeouts} stall timeouts, ${r.counts.tessera_abandoned ?? 0} abandoned, ${r.counts.tessera_hedges_started} hedges (${r.counts.tessera_hedges_won} won), ${r.counts.failed_uploads.tessera} failed`),
    row('tessera, no faults', d.tessera_fault_free, `${r.counts.failed_uploads['tessera-fault-free']} failed`),
    '',
    `| target | value | |`,
    '|---|---:|---|',
    `| tessera p99 / baseline p99 ${t.p99_ratio_vs_baseline.target} | ${t.p99_ratio_vs_baseline.value} | ${met(t.p99_ratio_vs_baseline)} |`,
    `| tessera p99 / its fault-free p50 ${t.tessera_p99_vs_fault_free_p50.target} | ${t.tessera_p99_vs_fault_free_p50.value} | ${met(t.tessera_p99_vs_fault_free_p50)} |`,
    `| extra bytes (client count) ${t.extra_bytes_ratio.target} | ${t.extra_bytes_ratio.value} (proxy count incl. headers: ${r.tail.extra_bytes_ratio_proxy}) | ${met(t.extra_bytes_ratio)} |`,
    '',
    `What limits it: ${r.tail.limits}.`,
    '',
    `Baseline: ${r.run.baseline}. Tessera: ${r.run.tessera}. Faults: ${r.run.faults}. Percentiles: ${r.run.percentile}.`,
    '',
  ].join('\n')
}

await main()
