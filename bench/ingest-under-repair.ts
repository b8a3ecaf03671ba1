// Ingest throughput while the durability engine is busy repairing, against the same gateway idle
// (issue 5: "proactive work does not push ingest throughput below 80% of its idle figure").
//
//   idle       gateway (4+2 over 8 backend dirs, default durability: reactive, 16 MiB/s repair
//              budget) holding PRELOAD of earlier uploads; every one is read once (GET), then the
//              measured upload runs.
//   degraded   the same, but one backend directory is removed under the running gateway first, and
//              the durability policy is `none`: what the dead backend alone costs an upload (its
//              stripes are written degraded, reads go around it), with no repair.
//   repairing  as degraded, with the default policy: the GETs read around its blocks and report
//              them, so regeneration of every data block it held is queued and runs (rate-limited)
//              during the measured upload.
//
// The measured upload is the Tessera SDK (bench/child/tessera-client, the CLI's engine) in a process
// of its own; the gateway is the built apps/gateway/dist/main.js, fresh each round on a copy of one
// preloaded template. Variants are interleaved round by round in a rotating order; the figure is the
// median of same-round MB/s ratios (the machine is shared and noisy). A round counts only if repair
// was still running when the upload ended (queue not empty), so the work overlapped all of it.
//
//   node --import tsx bench/ingest-under-repair.ts [--quick] [--size 256MiB] [--preload 512MiB] [--rounds N] [--repair-rate 16MiB] [--compare-rate 8MiB]
//
// `--compare-rate` adds a fourth variant, repairing with that budget, to the same rounds.
//
// Writes bench/results/ingest-under-repair.json and .md (see bench/README.md).
import { mkdirSync, writeFileSync } from 'node:fs'
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runSdkClient } from './lib/sdk-client.js'
import { startGateway, type StartedGateway } from './lib/gateway.js'
import { machineAfter, machineBefore } from './lib/machine.js'
import { stopChild } from './lib/proc.js'
import { seededBytes, sha256Url, writeSeededFile } from './lib/seeded-file.js'
import { formatBytes, median, parseBytes, round } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    size: { type: 'string' },
    preload: { type: 'string' },
    rounds: { type: 'string' },
    'repair-rate': { type: 'string' },
    'compare-rate': { type: 'string' },
  },
})
const quick = values.quick
const size = parseBytes(values.size ?? (quick ? '128MiB' : '256MiB'))
const preload = parseBytes(values.preload ?? (quick ? '256MiB' : '512MiB'))
const rounds = Number(values.rounds ?? (quick ? 3 : 5))
const repairRate = values['repair-rate']
/** A second repair budget to measure in the same run (variant `repairing-alt`). */
const compareRate = values['compare-rate']
const OBJECT_BYTES = 32 * 2 ** 20
const BACKENDS = 8
const TUS = { 'Tus-Resumable': '1.0.0' }

type VariantName = 'idle' | 'degraded' | 'repairing' | 'repairing-alt'
const VARIANTS: readonly VariantName[] = ['idle', 'degraded', 'repairing', ...(compareRate ? (['repairing-alt'] as const) : [])]
const isRepairing = (v: VariantName) => v === 'repairing' || v === 'repairing-alt'

interface Sample {
  round: number
  variant: VariantName
  mbPerSecond: number
  wallMs: number
  /** Background tasks waiting or running when the upload started / ended. */
  queueAtStart: number
  queueAtEnd: number
  /** Regenerations finished during the upload, and the backend bytes background work moved meanwhile. */
  regeneratedDuring: number
  backgroundBytesDuring: number
  /** Whether repair overlapped the whole upload (repairing rounds: the queue was not empty at its end). */
  overlapped: boolean
}

interface Status {
  queue: { waiting: number; running: number }
  totals: Record<string, Record<string, number>>
  io: Record<string, { bytesRead: number; bytesWritten: number }>
  objects: number
}

const backendDirs = (data: string) => Array.from({ length: BACKENDS }, (_, i) => join(data, 'backends', `b${i}`))
const flags = (data: string, variant?: VariantName) => [
  '--backends', backendDirs(data).join(','), '--log-level', 'warn',
  ...(variant === 'repairing-alt' ? ['--repair-rate', compareRate!] : repairRate ? ['--repair-rate', repairRate] : []),
  ...(variant === 'degraded' ? ['--durability', 'none'] : []),
]

async function status(gw: StartedGateway): Promise<Status> {
  const res = await fetch(`${new URL(gw.endpoint).origin}/_tessera/durability`)
  if (res.status !== 200) throw new Error(`status: ${res.status}`)
  return (await res.json()) as Status
}

const background = (s: Status) => Object.entries(s.io).filter(([k]) => k !== 'foreground' && k !== 'probe').reduce((n, [, v]) => n + v.bytesRead + v.bytesWritten, 0)
const regenerated = (s: Status) => s.totals['regenerate']?.['done'] ?? 0

/** Uploads `count` objects of OBJECT_BYTES with plain tus requests; resolves their ids. */
async function fill(gw: StartedGateway, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const created = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': String(OBJECT_BYTES) } })
    const url = created.headers.get('location')!
    const res = await fetch(url, { method: 'PATCH', headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' }, body: seededBytes(OBJECT_BYTES, 1000 + i) })
    if (res.status !== 204) throw new Error(`preload PATCH: ${res.status}`)
    ids.push(url.slice(url.lastIndexOf('/') + 1))
  }
  return ids
}

async function readAll(gw: StartedGateway, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const res = await fetch(`${gw.endpoint}/${id}`)
    const body = await res.arrayBuffer()
    if (res.status !== 200 || body.byteLength !== OBJECT_BYTES) throw new Error(`GET ${id}: ${res.status}, ${body.byteLength} bytes`)
  }
}

async function runOne(variant: VariantName, r: number, work: string, template: string, ids: readonly string[], file: string, verify: string | undefined): Promise<Sample> {
  const data = join(work, `${variant}-r${r}`)
  await cp(template, data, { recursive: true })
  const gw = await startGateway(data, flags(data, variant))
  try {
    if (variant !== 'idle') {
      // The backend holding block 0 of the first preloaded object's first stripe: it holds data blocks the GETs read.
      // A manifest file is a base record then appended stripes, one JSON object a line.
      const lines = (await readFile(join(data, 'meta', 'manifests', `${ids[0]}.manifest`), 'utf8')).split('\n').filter(Boolean)
      type Stripe = { blocks: { backend: string }[] }
      const first = lines.map((l) => JSON.parse(l) as { stripes?: Stripe[]; append?: Stripe[] }).flatMap((o) => o.stripes ?? o.append ?? [])[0]
      const victimId = first!.blocks[0]!.backend
      const dirs = backendDirs(data)
      const ownIds = await Promise.all(dirs.map(async (d) => (await readFile(join(d, '.tessera-backend-id'), 'utf8')).trim()))
      await rm(dirs[ownIds.indexOf(victimId)]!, { recursive: true, force: true })
    }
    await readAll(gw, ids)
    const before = await status(gw)
    if (isRepairing(variant) && before.queue.waiting + before.queue.running === 0) throw new Error('nothing queued for repair after the degraded reads')
    const result = await runSdkClient(file, [gw.endpoint]).catch((err: unknown) => {
      throw new Error(`${variant} round ${r}: ${(err as Error).message}`, { cause: err })
    })
    const after = await status(gw)
    if (verify !== undefined) {
      const got = await sha256Url(result.url)
      if (got.status !== 200 || got.sha256 !== verify) throw new Error(`${variant}: GET answered ${got.status}, sha256 ${got.sha256}, expected ${verify}`)
      console.error(`  ${variant}: stored bytes verified`)
    }
    const queueAtEnd = after.queue.waiting + after.queue.running
    return {
      round: r,
      variant,
      mbPerSecond: size / 1e6 / (result.wallMs / 1000),
      wallMs: result.wallMs,
      queueAtStart: before.queue.waiting + before.queue.running,
      queueAtEnd,
      regeneratedDuring: regenerated(after) - regenerated(before),
      backgroundBytesDuring: background(after) - background(before),
      overlapped: !isRepairing(variant) || queueAtEnd > 0,
    }
  } finally {
    await stopChild(gw.server)
    await rm(data, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const startedAt = new Date()
  const machine = machineBefore()
  const work = await mkdtemp(join(tmpdir(), 'tessera-iur-'))
  try {
    const file = join(work, 'source.bin')
    const sha256 = await writeSeededFile(file, size, 0x1e9a1)
    // One preloaded template, copied for every gateway so each round starts from the same state.
    const template = join(work, 'template')
    const gw = await startGateway(template, flags(template))
    let ids: string[]
    try {
      ids = await fill(gw, Math.max(1, Math.round(preload / OBJECT_BYTES)))
    } finally {
      await stopChild(gw.server)
    }
    console.error(`preloaded ${ids.length} × ${formatBytes(OBJECT_BYTES)}`)
    const samples: Sample[] = []
    const verified = new Set<VariantName>()
    for (let r = 1; r <= rounds; r++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + r - 1) % VARIANTS.length]!)
      for (const v of order) {
        const s = await runOne(v, r, work, template, ids, file, verified.has(v) ? undefined : sha256)
        verified.add(v)
        samples.push(s)
        console.error(`round ${r} ${v.padEnd(10)} ${s.mbPerSecond.toFixed(1).padStart(6)} MB/s  queue ${s.queueAtStart} → ${s.queueAtEnd}, ${s.regeneratedDuring} regenerated, ${formatBytes(s.backgroundBytesDuring)} background I/O during the upload`)
      }
    }
    const report = summarize(samples, startedAt, machineAfter(machine), ids.length)
    mkdirSync(join(here, 'results'), { recursive: true })
    writeFileSync(join(here, 'results/ingest-under-repair.json'), `${JSON.stringify(report, null, 2)}\n`)
    writeFileSync(join(here, 'results/ingest-under-repair.md'), markdown(report))
    console.log(markdown(report))
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

function summarize(samples: Sample[], startedAt: Date, machine: ReturnType<typeof machineAfter>, preloaded: number) {
  const ratios = (num: VariantName, den: VariantName) => {
    const perRound: number[] = []
    for (let r = 1; r <= rounds; r++) {
      const a = samples.find((s) => s.round === r && s.variant === num)
      const b = samples.find((s) => s.round === r && s.variant === den)
      if (a?.overlapped && b) perRound.push(round(a.mbPerSecond / b.mbPerSecond, 3))
    }
    return { median: round(median(perRound), 3), perRound }
  }
  const main = ratios('repairing', 'idle')
  const ratio = main.median
  const perRound = main.perRound
  const of = (v: VariantName) => samples.filter((s) => s.variant === v)
  return {
    benchmark: 'ingest-under-repair',
    command: `node --import tsx bench/ingest-under-repair.ts${quick ? ' --quick' : ''}${values.size ? ` --size ${values.size}` : ''}${values.preload ? ` --preload ${values.preload}` : ''}${values.rounds ? ` --rounds ${values.rounds}` : ''}${repairRate ? ` --repair-rate ${repairRate}` : ''}${compareRate ? ` --compare-rate ${compareRate}` : ''}`,
    units: {
      mb_s: 'file bytes / 1e6 / wall seconds of the SDK upload (upload() to done); median of rounds',
      ratio: 'median over rounds of the same-round repairing / idle MB/s ratio; only rounds whose repair outlasted the upload count',
    },
    ingest_under_repair: {
      idle_mb_s: round(median(of('idle').map((s) => s.mbPerSecond))),
      degraded_mb_s: round(median(of('degraded').map((s) => s.mbPerSecond))),
      repairing_mb_s: round(median(of('repairing').map((s) => s.mbPerSecond))),
      ...(compareRate && { 'repairing-alt_mb_s': round(median(of('repairing-alt').map((s) => s.mbPerSecond))) }),
      ratio,
      ratio_rounds: perRound,
      other_ratios: {
        degraded_over_idle: ratios('degraded', 'idle'),
        repairing_over_degraded: ratios('repairing', 'degraded'),
        ...(compareRate && { [`repairing_at_${compareRate}_over_idle`]: ratios('repairing-alt', 'idle') }),
      },
      rounds_without_overlap: of('repairing').filter((s) => !s.overlapped).length,
      regenerated_during_upload: of('repairing').map((s) => s.regeneratedDuring),
      background_mib_during_upload: of('repairing').map((s) => round(s.backgroundBytesDuring / 2 ** 20, 1)),
      target: { target: '≥ 0.8', value: ratio, met: ratio >= 0.8 },
    },
    samples: samples.map((s) => ({ ...s, mbPerSecond: round(s.mbPerSecond), wallMs: round(s.wallMs, 0) })),
    run: { sizeBytes: size, preloadBytes: preloaded * OBJECT_BYTES, preloadObjects: preloaded, backends: BACKENDS, geometry: '4+2', repairRate: repairRate ?? 'gateway default (16MiB)', compareRate: compareRate ?? null, rounds, quick },
    machine,
    date: startedAt.toISOString(),
  }
}

function markdown(report: ReturnType<typeof summarize>): string {
  const x = report.ingest_under_repair
  const rows = VARIANTS.map((v) => {
    const s = report.samples.filter((y) => y.variant === v)
    return `| ${v === 'repairing-alt' ? `repairing at ${compareRate}/s` : v} | ${(x as Record<string, unknown>)[`${v}_mb_s`]} | ${s.map((y) => y.mbPerSecond).join(', ')} | ${s.map((y) => `${y.queueAtStart}→${y.queueAtEnd}`).join(', ')} | ${s.map((y) => y.regeneratedDuring).join(', ')} |`
  })
  return [
    `# Ingest under repair: ${formatBytes(report.run.sizeBytes)} SDK uploads, ${report.run.rounds} interleaved rounds`,
    '',
    `\`${report.command}\` — ${report.date}, ${report.machine.nproc} cores (${report.machine.cpu}), Node ${report.machine.node}; load average ${report.machine.loadAverageBefore.join(' ')} before, ${report.machine.loadAverageAfter.join(' ')} after. ${report.machine.note}.`,
    '',
    `Gateway 4+2 over ${report.run.backends} backend dirs, default durability (reactive), repair budget ${report.run.repairRate}/s, ${report.run.preloadObjects} × 32 MiB preloaded, every preloaded object read once before the upload. Degraded = one backend dir removed under the running gateway, policy \`none\` (the dead backend's own cost); repairing = the same with the default policy, so the regeneration of the data blocks the reads went around is queued before the upload starts.`,
    '',
    '| variant | MB/s (median) | MB/s per round | background queue at upload start → end | regenerations during the upload |',
    '|---|---:|---|---|---|',
    ...rows,
    '',
    `**repairing / idle** (median of per-round ratios; target ≥ 0.8: ${x.target.met ? 'met' : '**missed**'}): **${x.ratio}** — rounds ${x.ratio_rounds.join(', ')}${x.rounds_without_overlap ? `; ${x.rounds_without_overlap} round(s) left out: the repair ended before the upload` : ''}`,
    '',
    ...Object.entries(x.other_ratios).map(([k, r]) => `- ${k.replaceAll('_', ' ')}: ${r.median} (rounds ${r.perRound.join(', ')})`),
    `- background I/O during each repairing upload (MiB): ${x.background_mib_during_upload.join(', ')}`,
    '',
  ].join('\n')
}

await main()
