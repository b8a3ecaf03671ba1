// `npm run sim:durability [-- --quick] [--trace FILE …] [--seed N] [--objects N]`
// Replays failure traces against the real ObjectStore (FsBackends in tmp dirs behind FaultyBackends
// driven by the trace) with an accelerated clock, under the policies none / reactive / predictive
// with the same seed, and writes bench/results/durability.{json,md}. See docs/durability.md.
import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { machineAfter, machineBefore } from './lib/machine.js'
import { POLICIES, markdown, targets, totals, type Policy } from './sim/report.js'
import { WIDTH_NOTE, simulate, type SimConfig, type SimResult } from './sim/simulate.js'
import { TraceError, loadTrace } from './sim/trace.js'

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)

// Child mode: one (trace, policy) replay in a process of its own; prints one JSON line.
if (args[0] === '--child') {
  const [, file, policy, json] = args
  const lines: string[] = []
  const result = await simulate(loadTrace(file!), policy as Policy, JSON.parse(json!) as SimConfig, (line) => lines.push(line))
  process.stdout.write(`${JSON.stringify({ result, lines })}\n`)
  process.exit(0)
}

const quick = args.includes('--quick')
const value = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const files = args.flatMap((a, i) => (args[i - 1] === '--trace' ? [a] : []))
for (const a of args) if (a.startsWith('--') && !['--quick', '--trace', '--seed', '--objects'].includes(a)) throw new Error(`unknown option ${a} (expected --quick, --trace FILE, --seed N, --objects N)`)

const config: SimConfig = {
  seed: Number(value('--seed') ?? 42),
  objects: Number(value('--objects') ?? (quick ? 32 : 96)),
  maxStripes: 3,
  blockBytes: 4096,
  dataBlocks: 4,
  parityBlocks: 2,
  // --quick moves 2 simulated minutes per step (half the probes and steps, ~half the wall time).
  stepMs: quick ? 120_000 : 60_000,
  accountEverySteps: quick ? 3 : 5,
  latencyScale: 0.02,
  readsPerStep: 1,
  sampleIntervalMs: quick ? 360_000 : 300_000,
  evaluateIntervalMs: quick ? 360_000 : 300_000,
  scrubIntervalMs: quick ? 720_000 : 600_000,
  scrubSweepMs: 4 * 3_600_000,
  repairBytesPerSecond: 2048,
  latencyLimitMs: 2000,
}
if (!Number.isInteger(config.seed) || !Number.isInteger(config.objects) || config.objects < 1) throw new Error('--seed and --objects take integers (objects ≥ 1)')

const traceFiles = files.length > 0 ? files : readdirSync(join(here, 'traces')).filter((f) => f.endsWith('.json')).sort().map((f) => join(here, 'traces', f))
// Validates every file before anything runs; a bad one stops the run naming the field.
let traces: { file: string; trace: ReturnType<typeof loadTrace> }[]
try {
  traces = traceFiles.map((file) => ({ file, trace: loadTrace(file) }))
} catch (err) {
  if (!(err instanceof TraceError)) throw err
  console.error(`TraceError: ${err.message}`)
  process.exit(2)
}
const machine = machineBefore()
const started = Date.now()

// Every (trace, policy) replay in a child process, three at a time: the injected latencies are real
// sleeps, and side by side they overlap. Each replay has its own directories, clock and seed.
function replay(file: string, policy: Policy): Promise<{ result: SimResult; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', file, policy, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`replay of ${file} under ${policy} exited with ${code}`))
      resolve(JSON.parse(out.trim().split('\n').pop()!) as { result: SimResult; lines: string[] })
    })
  })
}
const jobs = traces.flatMap(({ file, trace }) => POLICIES.map((policy) => ({ file, trace, policy })))
const done = new Map<string, { result: SimResult; lines: string[] }>()
let next = 0
await Promise.all(
  Array.from({ length: 3 }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!
      done.set(`${job.trace.name}/${job.policy}`, await replay(job.file, job.policy))
    }
  }),
)
const byTrace: Record<string, Record<Policy, SimResult>> = {}
for (const { trace } of traces) {
  console.log(`${trace.name}: ${trace.description}`)
  for (const line of done.get(`${trace.name}/none`)!.lines) console.log(line)
  const row = {} as Record<Policy, SimResult>
  for (const policy of POLICIES) {
    const r = done.get(`${trace.name}/${policy}`)!.result
    row[policy] = r
    console.log(`  ${policy.padEnd(10)} lost ${r.objects_lost}/${r.objects}, below redundancy ${r.below_redundancy_object_hours.toFixed(1)} object-h, repair ${(r.repair_bytes / 2 ** 20).toFixed(2)} MiB, scrub ${(r.scrub_bytes / 2 ** 20).toFixed(2)} MiB (${r.wall_s.toFixed(1)} s)`)
  }
  byTrace[trace.name] = row
}
const sum = Object.fromEntries(POLICIES.map((p) => [p, totals(Object.values(byTrace).map((r) => r[p]))])) as Record<Policy, ReturnType<typeof totals>>
const t = targets(byTrace, sum)
const command = `npm run sim:durability${args.length ? ` -- ${args.join(' ')}` : ''}`
const report = {
  bench: 'durability',
  date: new Date(started).toISOString(),
  command,
  wall_s: Math.round((Date.now() - started) / 100) / 10,
  machine: machineAfter(machine),
  config: { ...config, layout: WIDTH_NOTE, quick, traces: traces.map((x) => x.trace.name), parallelReplays: 3 },
  ...sum,
  targets: t,
  traces: byTrace,
}
const name = 'durability'
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results', `${name}.json`), `${JSON.stringify(report, null, 2)}\n`)
writeFileSync(join(here, 'results', `${name}.md`), markdown({ date: report.date, command, machine: report.machine, config: report.config, byTrace, sum, targets: t }))
for (const x of t) console.log(`${x.met ? 'met   ' : 'MISSED'} ${x.name}: ${x.detail}`)
console.log(`wrote bench/results/${name}.{json,md} in ${report.wall_s} s`)
