// Adaptive partitioning under a changing link: the upload bandwidth steps 200 → 20 → 200 Mbit/s
// (a fault-proxy bandwidth schedule, one token bucket for the whole link) and each phase's
// achieved / available rate is measured for the Tessera SDK as it ships (adaptive sizing) and for
// the same SDK with its partition size pinned to 1, 8 and 64 MiB.
//
//   node --import tsx bench/adaptive.ts [--quick] [--phase-s 10] [--runs 3]
//
// Each run: a fresh gateway (4+2, fresh data dir), a fresh proxy endpoint in front of it, a client
// process uploading a file larger than the schedule can carry; the schedule is restarted when the
// client is about to call upload(), the bytes the proxy forwarded upstream are read at every phase
// boundary, and the client is stopped when the last phase ends (so every phase is full of upload).
// Variants take turns run by run in a rotating order.
//
// Writes bench/results/adaptive.json and adaptive.md (see bench/README.md).
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { startByteMeter } from './lib/byte-meter.js'
import { compileChild } from './lib/compile-child.js'
import { startGateway } from './lib/gateway.js'
import { machineAfter, machineBefore } from './lib/machine.js'
import { runJsonLines, stopChild } from './lib/proc.js'
import { writeSeededFile } from './lib/seeded-file.js'
import { formatBytes, median, round } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'phase-s': { type: 'string' },
    runs: { type: 'string' },
  },
})
const quick = values.quick
const phaseMs = Number(values['phase-s'] ?? (quick ? 5 : 10)) * 1000
const runs = Number(values.runs ?? (quick ? 1 : 3))
const MiB = 2 ** 20
const SCHEDULE = [200e6, 20e6, 200e6].map((bitsPerSecond) => ({ bitsPerSecond, durationMs: phaseMs }))
/** The file is this much larger than the schedule can carry, so the upload never ends early. */
const OVERSIZE = 1.25
const fileBytes = Math.ceil((SCHEDULE.reduce((n, p) => n + (p.bitsPerSecond / 8) * (p.durationMs / 1000), 0) * OVERSIZE) / MiB) * MiB

const tesseraClient = compileChild('tessera-client')
const faultProxyChild = compileChild('fault-proxy')
const totalMs = SCHEDULE.reduce((n, p) => n + p.durationMs, 0)

interface Variant {
  readonly name: string
  readonly describe: string
  readonly options: Record<string, unknown>
}
const pinned = (mib: number): Variant => ({
  name: `fixed_${mib}mib`,
  describe: `SDK, partitions pinned to ${mib} MiB (min = max = initial partition bytes)`,
  options: { minPartitionBytes: mib * MiB, maxPartitionBytes: mib * MiB, initialPartitionBytes: mib * MiB },
})
const VARIANTS: Variant[] = [{ name: 'tessera', describe: 'SDK defaults: adaptive partition size (1–64 MiB) and concurrency', options: {} }, pinned(1), pinned(8), pinned(64)]

interface PhaseSample {
  phase: number
  bitsPerSecond: number
  seconds: number
  bytes: number
  utilization: number
}

interface RunRecord {
  variant: string
  run: number
  phases: PhaseSample[]
  /** Why the run has no figures, if it has none. */
  failed?: string
  clientStderr?: string
}

async function runOne(variant: Variant, run: number, work: string, file: string): Promise<RunRecord> {
  const data = await mkdtemp(join(work, `${variant.name}-r${run}-`))
  const gateway = await startGateway(data, ['--log-level', 'warn'])
  const url = new URL(gateway.endpoint)
  // client → fault-proxy (own process: shaping) → byte meter (this process: counting) → gateway.
  const meter = await startByteMeter(url.origin)
  const config = { seed: 1, endpoints: [{ name: 'link', upstream: meter.url, bandwidth: SCHEDULE, bandwidthDirection: 'upload' }] }
  const proxy = spawn(process.execPath, [faultProxyChild, '--config', JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const proxyLines = createInterface({ input: proxy.stdout })
  const proxyExited = new Promise<void>((resolve) => proxy.once('exit', () => resolve()))
  const stop = new AbortController()
  const bytes = SCHEDULE.map(() => 0)
  let t0: number | undefined
  let stopTimer: NodeJS.Timeout | undefined
  try {
    const proxyUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fault proxy not listening within 10 s')), 10_000)
      proxyLines.on('line', (line) => {
        const msg = JSON.parse(line) as { kind: string; urls?: string[]; atEpochMs?: number }
        if (msg.kind === 'listening') {
          clearTimeout(timer)
          resolve(msg.urls![0]!)
        } else if (msg.kind === 'restarted') {
          t0 = msg.atEpochMs! - performance.timeOrigin
          meter.onChunk((n, atMs) => {
            const phase = Math.floor((atMs - t0!) / phaseMs)
            if (phase >= 0 && phase < SCHEDULE.length) bytes[phase]! += n
          })
          stopTimer = setTimeout(() => stop.abort(), t0 + totalMs - performance.now())
        }
      })
      void proxyExited.then(() => reject(new Error('fault proxy exited')))
    })
    const state = await mkdtemp(join(work, 'state-'))
    const done = await runJsonLines<{ kind: string }>(
      process.execPath,
      [tesseraClient, '--file', file, '--endpoint', `${proxyUrl}${url.pathname}`, '--options', JSON.stringify(variant.options), '--state-dir', state],
      {
        timeoutMs: totalMs + 60_000,
        signal: stop.signal,
        // The schedule starts when the client is about to call upload() (its process is up).
        onLine: (line) => {
          if (line.kind === 'started') proxy.stdin.write('restart\n')
        },
      },
    )
    if (t0 === undefined || !stop.signal.aborted) {
      return { variant: variant.name, run, phases: [], failed: `client ended (${done.code}${done.timedOut ? ', timed out' : ''}) before the schedule did`, clientStderr: done.stderr.slice(-2000) }
    }
    const early = done.lines.find((l) => l.kind === 'upload')
    if (early) return { variant: variant.name, run, phases: [], failed: `the upload ended before the schedule did: ${JSON.stringify(early).slice(0, 300)}` }
    const phases = SCHEDULE.map((p, i) => ({
      phase: i + 1,
      bitsPerSecond: p.bitsPerSecond,
      seconds: p.durationMs / 1000,
      bytes: bytes[i]!,
      utilization: round((bytes[i]! * 8) / (p.bitsPerSecond * (p.durationMs / 1000)), 3),
    }))
    return { variant: variant.name, run, phases }
  } finally {
    clearTimeout(stopTimer)
    stop.abort()
    proxy.stdin.end()
    proxy.kill('SIGTERM')
    await proxyExited
    await meter.close()
    await stopChild(gateway.server)
    await rm(data, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const machine = machineBefore()
  const startedAt = new Date()
  const work = await mkdtemp(join(tmpdir(), 'tessera-adaptive-'))
  const file = join(work, 'source.bin')
  await writeSeededFile(file, fileBytes, 0xada9)
  const records: RunRecord[] = []
  try {
    for (let r = 1; r <= runs; r++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + r - 1) % VARIANTS.length]!)
      for (const variant of order) {
        const rec = await runOne(variant, r, work, file)
        records.push(rec)
        console.error(`run ${r} ${variant.name.padEnd(12)} ${rec.failed ? `FAILED: ${rec.failed}` : rec.phases.map((p) => `${p.bitsPerSecond / 1e6} Mbit/s ${p.utilization}`).join(' | ')}`)
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  const report = summarize(records, { startedAt, machine: machineAfter(machine) })
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results/adaptive.json'), `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(join(here, 'results/adaptive.md'), markdown(report))
  console.log(markdown(report))
}

function summarize(records: RunRecord[], run: { startedAt: Date; machine: ReturnType<typeof machineAfter> }) {
  const ok = records.filter((r) => !r.failed)
  const util = (variant: string, phase: number) => {
    const xs = ok.filter((r) => r.variant === variant).map((r) => r.phases[phase]!.utilization)
    return xs.length ? round(median(xs), 3) : null
  }
  const phases = SCHEDULE.map((p, i) => ({
    phase: i + 1,
    mbit_s: p.bitsPerSecond / 1e6,
    seconds: p.durationMs / 1000,
    utilization: Object.fromEntries(VARIANTS.map((v) => [v.name, util(v.name, i)])),
  }))
  const tessera = phases.map((p) => p.utilization['tessera']).filter((x): x is number => typeof x === 'number')
  const minUtilization = tessera.length === SCHEDULE.length ? Math.min(...tessera) : null
  const worst = minUtilization === null ? undefined : phases.find((p) => p.utilization['tessera'] === minUtilization)
  return {
    benchmark: 'adaptive',
    command: `node --import tsx bench/adaptive.ts${quick ? ' --quick' : ''}`,
    adaptive: {
      phases,
      min_utilization: minUtilization,
      min_utilization_phase: worst?.phase ?? null,
      min_utilization_by_variant: Object.fromEntries(
        VARIANTS.map((v) => {
          const xs = phases.map((p) => p.utilization[v.name]).filter((x): x is number => typeof x === 'number')
          return [v.name, xs.length === SCHEDULE.length ? Math.min(...xs) : null]
        }),
      ),
      target: { target: '≥ 0.85', value: minUtilization, met: minUtilization !== null && minUtilization >= 0.85 },
    },
    variants: Object.fromEntries(VARIANTS.map((v) => [v.name, { describe: v.describe, options: v.options }])),
    failures: records.filter((r) => r.failed),
    runs: ok,
    run: {
      runs,
      phaseMs,
      fileBytes,
      utilization: "bytes that left the shaping proxy towards the gateway during the phase (request bodies + headers, hedges and re-sends included), counted by a byte meter between proxy and gateway, × 8 / (the phase's rate × its length); median over runs",
      link: 'one fault-proxy endpoint in a process of its own, bandwidth schedule on the upload direction only (a token bucket shared by all connections; burst 50 ms), no other faults; schedule restarted when the client process is up',
    },
    machine: run.machine,
    date: run.startedAt.toISOString(),
  }
}

function markdown(r: ReturnType<typeof summarize>): string {
  const names = Object.keys(r.variants)
  const a = r.adaptive
  return [
    `# Adaptive: ${r.adaptive.phases.map((p) => `${p.mbit_s}`).join(' → ')} Mbit/s, ${r.run.phaseMs / 1000} s per phase, ${r.run.runs} run(s) per variant, ${formatBytes(r.run.fileBytes)} file`,
    '',
    `\`${r.command}\` — ${r.date}, ${r.machine.nproc} cores, Node ${r.machine.node}; load average ${r.machine.loadAverageBefore.join(' ')} before, ${r.machine.loadAverageAfter.join(' ')} after.`,
    '',
    `| phase | Mbit/s | ${names.join(' | ')} |`,
    `|---|---:|${names.map(() => '---:').join('|')}|`,
    ...a.phases.map((p) => `| ${p.phase} | ${p.mbit_s} | ${names.map((n) => p.utilization[n] ?? 'failed').join(' | ')} |`),
    `| worst | | ${names.map((n) => a.min_utilization_by_variant[n] ?? 'failed').join(' | ')} |`,
    '',
    `Achieved / available per phase (${r.run.utilization}). Target: Tessera's worst phase ${a.target.target}: ${a.target.value} — ${a.target.met ? 'met' : '**missed**'}${a.min_utilization_phase ? ` (phase ${a.min_utilization_phase})` : ''}. ${r.failures.length ? `${r.failures.length} run(s) failed, see adaptive.json.` : ''}`,
    '',
  ].join('\n')
}

await main()
