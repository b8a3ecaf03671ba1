// `npm run bench [-- --quick]`: every side-by-side bench in one run, then one summary.
//
// Runs ingest, tail, adaptive, codec and read one after another, each in a process group of its own with
// a time budget (killed with everything it started when the budget runs out, and reported as
// failed — CI never hangs here), then merges their JSON into bench/results/latest.json and writes
// bench/results/latest.md: machine, load average before/after, command, every figure next to its
// peer, and each target met or missed. Each bench keeps writing its own results/<name>.{json,md}.
// Exit status: 0 when every bench produced its results (missed targets are results, not
// failures), 1 otherwise.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machineAfter, machineBefore } from './lib/machine.js'
import { round } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } })
const quick = values.quick

interface BenchSpec {
  readonly name: 'ingest' | 'tail' | 'adaptive' | 'codec' | 'read'
  readonly budgetMs: number
}
/** Budgets: --quick must finish in under 5 minutes on the 2-core dev machine, so the sum stays below. */
const BENCHES: BenchSpec[] = [
  { name: 'ingest', budgetMs: quick ? 100_000 : 1_500_000 },
  { name: 'tail', budgetMs: quick ? 150_000 : 2_400_000 },
  { name: 'adaptive', budgetMs: quick ? 100_000 : 900_000 },
  { name: 'codec', budgetMs: quick ? 40_000 : 300_000 },
  { name: 'read', budgetMs: quick ? 60_000 : 900_000 },
].filter((b) => !values.only || values.only.split(',').includes(b.name)) as BenchSpec[]
/** The whole --quick run stops starting work after this (a bench gets what is left of it). */
const QUICK_DEADLINE_MS = 290_000

interface BenchRun {
  name: string
  ok: boolean
  seconds: number
  exit: number | string
  error?: string
}

let current: ReturnType<typeof spawn> | undefined
const killGroup = (signal: NodeJS.Signals) => {
  if (current?.pid) {
    try {
      process.kill(-current.pid, signal) // the bench and every server/client it started
    } catch {
      /* already gone */
    }
  }
}
process.on('SIGINT', () => {
  killGroup('SIGKILL')
  process.exit(130)
})
process.on('SIGTERM', () => {
  killGroup('SIGKILL')
  process.exit(143)
})

function runBench(spec: BenchSpec, budgetMs: number): Promise<BenchRun> {
  const started = performance.now()
  const args = ['--import', 'tsx', join(here, `${spec.name}.ts`), ...(quick ? ['--quick'] : [])]
  console.error(`\n=== ${spec.name} (budget ${Math.round(budgetMs / 1000)} s) ===`)
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], detached: true })
    current = child
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killGroup('SIGKILL')
    }, budgetMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      current = undefined
      // Whatever the bench started and left behind dies with its group.
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        /* none left */
      }
      const seconds = round((performance.now() - started) / 1000, 1)
      const exit = code ?? signal ?? 'unknown'
      const ok = code === 0 && !timedOut
      resolve({ name: spec.name, ok, seconds, exit, ...(!ok && { error: timedOut ? `did not finish within its budget of ${budgetMs / 1000} s (killed)` : `exited with ${exit}` }) })
    })
  })
}

/** The bench's own JSON, if it was written during this run. */
function readResult(name: string, since: number): Record<string, unknown> | undefined {
  const path = join(here, 'results', `${name}.json`)
  if (!existsSync(path) || statSync(path).mtimeMs < since) return undefined
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
}

interface CodecRow {
  dataBlocks: number
  parityBlocks: number
  lostBlocks: number
  case: string
  kernel: string
  gbPerSecond: number
}
function codecFigures(codec: Record<string, unknown>) {
  const rows = codec['results'] as CodecRow[]
  const pick = (pred: (r: CodecRow) => boolean) => round(rows.find(pred)?.gbPerSecond ?? Number.NaN, 2)
  const out: Record<string, number | string> = { kernel: rows[0]?.kernel ?? 'unknown' }
  for (const [k, m] of [
    [4, 2],
    [10, 4],
  ] as const) {
    out[`encode_${k}_${m}_gb_s`] = pick((r) => r.case === `encode ${k}+${m}`)
    out[`reconstruct_${k}_${m}_gb_s`] = pick((r) => r.dataBlocks === k && r.parityBlocks === m && r.lostBlocks > 0 && !r.case.includes('reused'))
    out[`reconstruct_${k}_${m}_reused_targets_gb_s`] = pick((r) => r.dataBlocks === k && r.parityBlocks === m && r.case.includes('reused'))
  }
  out['checksum_xxhash64_gb_s'] = pick((r) => r.case.startsWith('checksum'))
  out['unit'] = 'GB/s (1e9 bytes/s of data blocks) on one core (single-threaded), 1 MiB blocks, median of runs; reconstruct with m data blocks lost'
  return out
}

async function main(): Promise<void> {
  const machine = machineBefore()
  const startedAt = new Date()
  const t0 = performance.now()
  const since = Date.now()
  const runs: BenchRun[] = []
  for (const spec of BENCHES) {
    const left = quick ? QUICK_DEADLINE_MS - (performance.now() - t0) : spec.budgetMs
    if (left < 10_000) {
      runs.push({ name: spec.name, ok: false, seconds: 0, exit: 'skipped', error: 'skipped: the --quick run had no time left' })
      continue
    }
    const run = await runBench(spec, Math.min(spec.budgetMs, left))
    if (run.ok && !readResult(spec.name, since)) Object.assign(run, { ok: false, error: `finished but wrote no results/${spec.name}.json` })
    runs.push(run)
    console.error(`=== ${spec.name}: ${run.ok ? 'ok' : `FAILED — ${run.error}`} in ${run.seconds} s`)
  }
  const totalSeconds = round((performance.now() - t0) / 1000, 1)
  const got = Object.fromEntries(runs.filter((r) => r.ok).map((r) => [r.name, readResult(r.name, since)!]))
  const latest = {
    benchmark: 'all',
    command: `npm run bench${quick ? ' -- --quick' : ''}`,
    date: startedAt.toISOString(),
    quick,
    total_seconds: totalSeconds,
    benches: runs,
    ...(got['ingest'] && { ingest: got['ingest']['ingest'] }),
    ...(got['tail'] && { tail: got['tail']['tail'] }),
    ...(got['adaptive'] && { adaptive: got['adaptive']['adaptive'] }),
    ...(got['codec'] && { codec: codecFigures(got['codec']) }),
    ...(got['read'] && { read: got['read']['read'] }),
    details: 'per-bench results, with every round and sample: bench/results/{ingest,tail,adaptive,codec,read}.json',
    machine: machineAfter(machine),
  }
  writeFileSync(join(here, 'results/latest.json'), `${JSON.stringify(latest, null, 2)}\n`)
  writeFileSync(join(here, 'results/latest.md'), markdown(latest))
  console.log(markdown(latest))
  console.error(`bench: ${runs.filter((r) => r.ok).length}/${runs.length} benches ok in ${totalSeconds} s; wrote bench/results/latest.{json,md}`)
  process.exit(runs.every((r) => r.ok) ? 0 : 1)
}

type Latest = Record<string, unknown> & { benches: BenchRun[]; machine: ReturnType<typeof machineAfter>; command: string; date: string; total_seconds: number }
type Target = { target: string; value: number | null; met: boolean }

function markdown(l: Latest): string {
  const m = l.machine
  const ingest = l['ingest'] as Record<string, unknown> | undefined
  const tail = l['tail'] as Record<string, unknown> | undefined
  const adaptive = l['adaptive'] as Record<string, unknown> | undefined
  const codec = l['codec'] as Record<string, number | string> | undefined
  const read = l['read'] as (Record<string, number> & { targets: Record<string, Target> }) | undefined
  const met = (t: Target | undefined) => (t === undefined ? 'n/a' : t.met ? 'met' : '**missed**')
  const lines = [
    `# Tessera side by side (${l['quick'] ? 'quick' : 'full'} run)`,
    '',
    `\`${l.command}\` — ${l.date}, ${l.total_seconds} s. Machine: ${m.nproc} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}. Load average (1/5/15 min) before ${m.loadAverageBefore.join(' ')}, after ${m.loadAverageAfter.join(' ')} — ${m.note}.`,
    '',
    '| bench | figure | Tessera | peer | ratio | target | |',
    '|---|---|---:|---:|---:|---|---|',
  ]
  if (ingest) {
    const rss = (k: string) => (ingest[k] as Record<string, number>)
    const t = ingest['target'] as Target
    lines.push(`| ingest | MB/s (tessera SDK → gateway 4+2 vs tus-js-client → @tus/server) | ${ingest['tessera_mb_s']} | ${ingest['baseline_mb_s']} | ${ingest['ratio']} | ${t.target} | ${met(t)} |`)
    lines.push(`| ingest | ceiling: raw PUT MB/s; tus-js-client → gateway MB/s | | ${ingest['raw_put_mb_s']}; ${ingest['tus_gateway_mb_s']} | | | |`)
    lines.push(`| ingest | peak RSS MiB client / server | ${rss('client_peak_rss_mib')['tessera']} / ${rss('server_peak_rss_mib')['tessera']} | ${rss('client_peak_rss_mib')['baseline']} / ${rss('server_peak_rss_mib')['baseline']} | | | |`)
  }
  if (tail) {
    const t = tail['targets'] as Record<string, Target>
    lines.push(`| tail | p99 s (SDK, 3 endpoints vs tus-js-client, 1 endpoint) | ${tail['tessera_p99_s']} | ${tail['baseline_p99_s']} | ${tail['p99_ratio_vs_baseline']} | ${t['p99_ratio_vs_baseline']!.target} | ${met(t['p99_ratio_vs_baseline'])} |`)
    lines.push(`| tail | Tessera p99 vs its fault-free p50 (s) | ${tail['tessera_p99_s']} | ${tail['tessera_fault_free_p50_s']} | ${t['tessera_p99_vs_fault_free_p50']!.value} | ${t['tessera_p99_vs_fault_free_p50']!.target} | ${met(t['tessera_p99_vs_fault_free_p50'])} |`)
    lines.push(`| tail | extra bytes / file bytes | ${tail['extra_bytes_ratio']} | | | ${t['extra_bytes_ratio']!.target} | ${met(t['extra_bytes_ratio'])} |`)
  }
  if (adaptive) {
    const t = adaptive['target'] as Target
    const byVariant = adaptive['min_utilization_by_variant'] as Record<string, number | null>
    lines.push(`| adaptive | worst-phase utilization, 200→20→200 Mbit/s (SDK adaptive vs pinned 1 / 8 / 64 MiB) | ${adaptive['min_utilization']} | ${byVariant['fixed_1mib']} / ${byVariant['fixed_8mib']} / ${byVariant['fixed_64mib']} | | ${t.target} | ${met(t)} |`)
  }
  if (codec) {
    lines.push(`| codec | encode GB/s per core, 4+2 / 10+4 (${codec['kernel']}) | ${codec['encode_4_2_gb_s']} / ${codec['encode_10_4_gb_s']} | | | | |`)
    lines.push(`| codec | reconstruct GB/s per core, 4+2 / 10+4 (m blocks lost) | ${codec['reconstruct_4_2_gb_s']} / ${codec['reconstruct_10_4_gb_s']} | | | | |`)
  }
  if (read) {
    const t = read.targets
    lines.push(`| read | GET p99 s, one backend +50 ms (all on vs hedging/echoes/prefetch off) | ${read['p99_s']} | ${read['p99_s_plain']} | ${read['p99_ratio_vs_plain']} | ${t['p99_ratio_vs_plain']!.target} | ${met(t['p99_ratio_vs_plain'])} |`)
    lines.push(`| read | p99 slowed vs not slowed (s); @tus/server p99 | ${read['p99_s']} | ${read['p99_s_no_slow']}; ${read['p99_s_tus_server']} | ${read['p99_ratio_vs_no_slow']} | ${t['p99_ratio_vs_no_slow']!.target} | ${met(t['p99_ratio_vs_no_slow'])} |`)
    lines.push(`| read | prefetch precision; echo hit rate | ${read['prefetch_precision']}; ${read['hit_rate']} | | | ${t['prefetch_precision']!.target} | ${met(t['prefetch_precision'])} |`)
    lines.push(`| read | extra blocks read / needed | ${read['extra_read_ratio']} | | | ${t['extra_read_ratio']!.target} | ${met(t['extra_read_ratio'])} |`)
    lines.push(`| read | cold GET MB/s (vs @tus/server) | ${read['cold_get_mb_s']} | ${read['cold_get_mb_s_tus_server']} | ${read['cold_get_ratio_vs_tus_server']} | ${t['cold_get_ratio_vs_tus_server']!.target} | ${met(t['cold_get_ratio_vs_tus_server'])} |`)
  }
  lines.push('')
  if (tail) {
    const stalled = tail['stalled_attempts'] as { tessera: number; baseline: number }
    if (tail['valid'] === false) lines.push(`**Tail run INVALID**: ${tail['invalid']}.`, '')
    lines.push(`Tail — stalled requests in the fault lane: Tessera ${stalled.tessera}, baseline ${stalled.baseline}. What limits it: ${tail['limits']}.`, '')
  }
  if (adaptive) {
    const phases = adaptive['phases'] as { phase: number; mbit_s: number; utilization: Record<string, number | null> }[]
    lines.push(`Adaptive per phase (achieved / available): ${phases.map((p) => `${p.mbit_s} Mbit/s: ${Object.entries(p.utilization).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ')}.`, '')
  }
  const failed = l.benches.filter((b) => !b.ok)
  lines.push(`Benches: ${l.benches.map((b) => `${b.name} ${b.ok ? 'ok' : 'FAILED'} (${b.seconds} s)`).join(', ')}.${failed.length ? ` Failures: ${failed.map((b) => `${b.name}: ${b.error}`).join('; ')}.` : ''}`)
  lines.push('', 'Details, every round and the method: `bench/results/{ingest,tail,adaptive}.md` and the JSON files next to them; `bench/README.md`.', '')
  return lines.join('\n')
}

await main()
