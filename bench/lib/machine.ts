// What a bench result must say about where it ran: the machine is shared and noisy, so the load
// average before and after goes next to every figure.
import { cpus, freemem, loadavg, totalmem } from 'node:os'
import { round } from './stats.js'

/** Machine facts and the load average now (before a run; pass the result to {@link machineAfter}). */
export function machineBefore() {
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    freeMemoryGiB: round(freemem() / 2 ** 30, 1),
    node: process.version,
    loadAverageBefore: loadavg().map((x) => round(x)),
  }
}

/** The same with the load average after the run. */
export function machineAfter(before: ReturnType<typeof machineBefore>) {
  return { ...before, loadAverageAfter: loadavg().map((x) => round(x)), note: 'shared machine: other engineers may have been building and testing during the run; compare only figures within one run' }
}

export type Machine = ReturnType<typeof machineAfter>
