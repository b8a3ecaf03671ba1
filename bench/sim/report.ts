// Sums, targets and the markdown table of `npm run sim:durability`.
import type { SimResult } from './simulate.js'

export const POLICIES = ['none', 'reactive', 'predictive'] as const
export type Policy = (typeof POLICIES)[number]

export interface PolicyTotals {
  objects: number
  objects_lost: number
  objects_lost_ground_truth: number
  below_redundancy_object_hours: number
  repair_bytes: number
  scrub_bytes: number
  probe_bytes: number
  peak_extra_parity_blocks: number
  wall_s: number
}

export interface Target {
  readonly name: string
  readonly met: boolean
  readonly detail: string
}

export function totals(results: readonly SimResult[]): PolicyTotals {
  const sum = (f: (r: SimResult) => number) => results.reduce((n, r) => n + f(r), 0)
  return {
    objects: sum((r) => r.objects),
    objects_lost: sum((r) => r.objects_lost),
    objects_lost_ground_truth: sum((r) => r.objects_lost_ground_truth),
    below_redundancy_object_hours: round(sum((r) => r.below_redundancy_object_hours)),
    repair_bytes: sum((r) => r.repair_bytes),
    scrub_bytes: sum((r) => r.scrub_bytes),
    probe_bytes: sum((r) => r.probe_bytes),
    peak_extra_parity_blocks: Math.max(0, ...results.map((r) => r.peak_extra_parity_blocks)),
    wall_s: round(sum((r) => r.wall_s), 1),
  }
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function ratio(a: number, b: number): number {
  return b === 0 ? (a === 0 ? 1 : Infinity) : a / b
}

export function targets(byTrace: Record<string, Record<Policy, SimResult>>, sum: Record<Policy, PolicyTotals>): Target[] {
  const traces = Object.entries(byTrace)
  const noLoss = traces.filter(([, r]) => r.none.objects_lost === 0).map(([t]) => t)
  const worse = traces.filter(([, r]) => r.predictive.objects_lost > r.reactive.objects_lost).map(([t]) => t)
  const brh = ratio(sum.reactive.below_redundancy_object_hours, sum.predictive.below_redundancy_object_hours)
  const perTraceBrh = traces.map(([t, r]) => `${t} ${fmtRatio(ratio(r.reactive.below_redundancy_object_hours, r.predictive.below_redundancy_object_hours))}`).join(', ')
  const bytes = ratio(sum.predictive.repair_bytes, sum.reactive.repair_bytes)
  const perTraceBytes = traces.map(([t, r]) => `${t} ${fmtRatio(ratio(r.predictive.repair_bytes, r.reactive.repair_bytes))}`).join(', ')
  return [
    { name: 'none loses objects on every trace', met: noLoss.length === 0, detail: noLoss.length === 0 ? `lost ${traces.map(([t, r]) => `${t} ${r.none.objects_lost}`).join(', ')}` : `no loss on ${noLoss.join(', ')}` },
    { name: 'predictive loses no more objects than reactive', met: worse.length === 0 && sum.predictive.objects_lost <= sum.reactive.objects_lost, detail: `predictive ${sum.predictive.objects_lost}, reactive ${sum.reactive.objects_lost}${worse.length ? `; worse on ${worse.join(', ')}` : ''}` },
    { name: 'below-redundancy object-hours: reactive / predictive ≥ 5', met: brh >= 5, detail: `${fmtRatio(brh)} overall (${perTraceBrh})` },
    { name: 'repair bytes: predictive / reactive ≤ 1.5', met: bytes <= 1.5, detail: `${fmtRatio(bytes)} overall (${perTraceBytes})` },
  ]
}

function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `${round(x)}×` : '∞'
}

function mib(bytes: number): string {
  return `${round(bytes / 2 ** 20)} MiB`
}

export function markdown(report: {
  date: string
  command: string
  machine: Record<string, unknown>
  config: Record<string, unknown>
  byTrace: Record<string, Record<Policy, SimResult>>
  sum: Record<Policy, PolicyTotals>
  targets: readonly Target[]
}): string {
  const lines: string[] = []
  lines.push('# Durability simulation', '')
  lines.push(`${report.date} — \`${report.command}\``, '')
  const m = report.machine as { nproc?: number; cpu?: string; node?: string; loadAverageBefore?: number[]; loadAverageAfter?: number[] }
  lines.push(`Machine: ${m.nproc} × ${m.cpu}, Node ${m.node}, load ${m.loadAverageBefore?.join(' ')} → ${m.loadAverageAfter?.join(' ')} (shared machine).`, '')
  const c = report.config as Record<string, unknown>
  lines.push(`Setup: ${c.layout}; ${c.objects} objects per trace (1–${c.maxStripes} stripes of ${c.dataBlocks} × ${c.blockBytes} B), seed ${c.seed}; one step = ${Number(c.stepMs) / 60000} simulated min (a probe per backend per step), health windows ${Number(c.sampleIntervalMs) / 60000} min, evaluation every ${Number(c.evaluateIntervalMs) / 60000} min, a scrub pass every ${Number(c.scrubIntervalMs) / 60000} min sized for a full sweep in ${Number(c.scrubSweepMs) / 3600000} h, repair budget ${c.repairBytesPerSecond} B per simulated s, ${c.readsPerStep} foreground read(s) of a random object per step.`, '')
  lines.push('| trace | policy | objects lost | below-redundancy object-hours | repair bytes | scrub bytes | peak extra parity blocks | wall s |')
  lines.push('|---|---|---|---|---|---|---|---|')
  for (const [trace, r] of Object.entries(report.byTrace)) {
    for (const p of POLICIES) {
      const x = r[p]
      lines.push(`| ${trace} | ${p} | ${x.objects_lost} / ${x.objects} | ${round(x.below_redundancy_object_hours)} | ${mib(x.repair_bytes)} | ${mib(x.scrub_bytes)} | ${x.peak_extra_parity_blocks} | ${round(x.wall_s, 1)} |`)
    }
  }
  for (const p of POLICIES) {
    const x = report.sum[p]
    lines.push(`| **all** | **${p}** | **${x.objects_lost} / ${x.objects}** | **${x.below_redundancy_object_hours}** | **${mib(x.repair_bytes)}** | ${mib(x.scrub_bytes)} | ${x.peak_extra_parity_blocks} | ${x.wall_s} |`)
  }
  lines.push('', '| target | met | figures |', '|---|---|---|')
  for (const t of report.targets) lines.push(`| ${t.name} | ${t.met ? 'met' : '**missed**'} | ${t.detail} |`)
  lines.push('', 'Objects lost: read back whole through the store at the end and compared with the uploaded bytes (the ground truth taken every few steps agrees unless noted in the JSON). Below-redundancy object-hours: Σ over accounting steps of objects with a stripe holding fewer than k+m intact blocks (dead backend, rotten block, missing) × step length; lost objects count until the end. Repair bytes: bytes read + written by regenerate, migrate and parity tasks (scrub reads are reported apart). See docs/durability.md.', '')
  return `${lines.join('\n')}\n`
}
