// Lock contention: what a server does while a resumed upload waits for a stalled PATCH's lock.
// A raw-socket PATCH sends its headers and part of its body, then goes silent (a black-holed
// client: no more bytes, no FIN). A second client then resumes the same upload the way
// tus-js-client does after a timeout: HEAD for the offset, then PATCH the rest. For each server —
// stock @tus/server 2.x + FileStore and our gateway — over a fixed window the bench samples the
// server process's CPU % and RSS from /proc and records when the HEAD answers, whether the
// resumed upload completes, and whether the stored bytes are right.
//
//   node --import tsx bench/lock-contention.ts [--window-ms 15000] [--trials 2]
//
// Writes bench/results/lock-contention.json and .md (see bench/README.md).
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { compileChild } from './lib/compile-child.js'
import { startGateway } from './lib/gateway.js'
import { send, stalledPatch } from './lib/http-raw.js'
import { machineAfter, machineBefore } from './lib/machine.js'
import { alive, cpuSeconds, peakRssMiB, rssMiB, type Started, startChild, stopChild } from './lib/proc.js'
import { seededBytes, sha256File, sha256Url } from './lib/seeded-file.js'
import { round } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({ options: { 'window-ms': { type: 'string', default: '15000' }, trials: { type: 'string', default: '2' } } })
const WINDOW_MS = Number(values['window-ms'])
const TRIALS = Number(values.trials)
const UPLOAD_BYTES = 64 * 2 ** 20
const STALLED_BYTES = 8 * 2 ** 20
const SAMPLE_MS = 250
const TUS = { 'Tus-Resumable': '1.0.0' }

interface Server {
  readonly name: 'tus-server' | 'tessera'
  readonly describe: string
  start(data: string): Promise<{ server: Started; endpoint: string }>
  stored(url: string, data: string): Promise<string>
}

const tusServer = compileChild('tus-server')
const servers: Server[] = [
  {
    name: 'tus-server',
    describe: '@tus/server 2.4.5 + @tus/file-store, MemoryLocker (its default)',
    async start(data) {
      const server = await startChild(process.execPath, [tusServer, '--data', data], /listening: (http:\/\/\S+)/)
      return { server, endpoint: server.match[1]! }
    },
    stored: (url, data) => sha256File(join(data, url.split('/').pop()!)),
  },
  {
    name: 'tessera',
    describe: 'Tessera gateway, default config (4+2, LocalLocker)',
    start: startGateway,
    stored: async (url) => (await sha256Url(url)).sha256,
  },
]

interface Sample {
  /** ms since the resumed client sent its HEAD. */
  t: number
  cpuPercent: number
  rssMiB: number
}

async function trial(spec: Server, body: Buffer, sha256: string, n: number) {
  const data = await mkdtemp(join(tmpdir(), `tessera-lock-${spec.name}-`))
  const { server, endpoint } = await spec.start(data)
  const pid = server.pid
  try {
    const created = await send(endpoint, 'POST', { ...TUS, 'Upload-Length': String(body.length) }, undefined, 5_000)
    if (created.status !== 201) throw new Error(`${spec.name}: POST answered ${created.status} ${created.error ?? ''}`)
    const url = new URL(created.headers['location'] as string, endpoint).href
    const patchHeaders = { ...TUS, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }
    const stalled = await stalledPatch(url, patchHeaders, body.length, body.subarray(0, STALLED_BYTES))
    await sleep(1_000)

    // The window starts when the resumed client sends its HEAD.
    const rss0 = rssMiB(pid)
    const cpu0 = cpuSeconds(pid)
    const t0 = performance.now()
    const samples: Sample[] = []
    let last = { t: t0, cpu: cpu0 }
    const sampler = setInterval(() => {
      if (!alive(pid)) return
      const now = performance.now()
      const cpu = cpuSeconds(pid)
      samples.push({ t: round(now - t0, 0), cpuPercent: round(((cpu - last.cpu) / ((now - last.t) / 1000)) * 100, 0), rssMiB: round(rssMiB(pid), 1) })
      last = { t: now, cpu }
    }, SAMPLE_MS)

    const head = await send(url, 'HEAD', TUS, undefined, WINDOW_MS)
    const cpuAtHead = alive(pid) ? cpuSeconds(pid) : Number.NaN
    const headMs = performance.now() - t0
    let resumed: { status: number | undefined; fromOffset: number; ms: number; finalOffset: number | undefined; error?: string } | undefined
    if (head.status === 200) {
      const fromOffset = Number(head.headers['upload-offset'])
      const left = Math.max(1_000, WINDOW_MS - (performance.now() - t0))
      const patch = await send(url, 'PATCH', { ...patchHeaders, 'Upload-Offset': String(fromOffset) }, body.subarray(fromOffset), left)
      resumed = { status: patch.status, fromOffset, ms: round(performance.now() - t0, 0), finalOffset: patch.headers['upload-offset'] === undefined ? undefined : Number(patch.headers['upload-offset']), ...(patch.error && { error: patch.error }) }
    }
    const rest = WINDOW_MS - (performance.now() - t0)
    if (rest > 0) await sleep(rest)
    clearInterval(sampler)
    const windowCpu = alive(pid) ? cpuSeconds(pid) - cpu0 : Number.NaN
    const peakDuringWindow = Math.max(rss0, ...samples.map((s) => s.rssMiB))
    const serverAlive = alive(pid)
    const hwm = serverAlive ? peakRssMiB(pid) : Number.NaN

    // Afterwards: where the upload stands, and whether its bytes are the ones sent.
    let finalOffset: number | undefined
    let bytesVerified: boolean | undefined
    if (serverAlive) {
      const after = await send(url, 'HEAD', TUS, undefined, 5_000)
      finalOffset = after.headers['upload-offset'] === undefined ? undefined : Number(after.headers['upload-offset'])
      if (finalOffset === body.length) bytesVerified = (await spec.stored(url, data)) === sha256
    }
    const stalledAnswer = stalled.received().split('\r\n')[0] || undefined
    const result = {
      server: spec.name,
      trial: n,
      head: { status: head.status, answeredAfterMs: head.status === undefined ? undefined : round(head.ms, 0), offset: head.headers['upload-offset'], ...(head.error && { error: head.error }) },
      resumedPatch: resumed,
      completed: finalOffset === body.length,
      finalOffset,
      bytesVerified,
      stalledPatch: { answer: stalledAnswer, answeredAfterMs: round(stalled.answeredAfterMs() ?? Number.NaN, 0), closedAfterMs: round(stalled.closedAfterMs() ?? Number.NaN, 0) },
      cpuSecondsUntilHead: round(cpuAtHead - cpu0),
      // /proc counts CPU in 10 ms ticks: a percentage over a wait shorter than ~0.5 s means nothing.
      cpuPercentUntilHead: headMs >= 500 ? round(((cpuAtHead - cpu0) / (headMs / 1000)) * 100, 0) : undefined,
      cpuPercentWindow: round((windowCpu / (WINDOW_MS / 1000)) * 100, 0),
      cpuSecondsWindow: round(windowCpu),
      rssMiBAtStart: round(rss0, 1),
      rssMiBPeakInWindow: round(peakDuringWindow, 1),
      rssGrowthMiB: round(peakDuringWindow - rss0, 1),
      vmHwmMiB: round(hwm, 1),
      serverAlive,
      samples,
    }
    stalled.socket.destroy()
    return result
  } finally {
    await stopChild(server)
    await rm(data, { recursive: true, force: true })
  }
}

type Result = Awaited<ReturnType<typeof trial>>

async function main(): Promise<void> {
  const body = seededBytes(UPLOAD_BYTES, 0x5eed)
  const sha256 = createHash('sha256').update(body).digest('hex')
  const startedAt = new Date()
  const machine = machineBefore()
  const results: Result[] = []
  for (let n = 1; n <= TRIALS; n++) {
    for (const spec of servers) {
      console.error(`trial ${n}: ${spec.name} — stalled PATCH of ${STALLED_BYTES / 2 ** 20} of ${UPLOAD_BYTES / 2 ** 20} MiB, then HEAD + PATCH, ${WINDOW_MS} ms window`)
      const r = await trial(spec, body, sha256, n)
      console.error(`  HEAD ${r.head.status ?? 'no answer'}${r.head.answeredAfterMs !== undefined ? ` after ${r.head.answeredAfterMs} ms` : ''}; CPU ${r.cpuSecondsUntilHead} s (${r.cpuPercentUntilHead ?? '—'}%) until HEAD, ${r.cpuPercentWindow}% over the window; RSS ${r.rssMiBAtStart} → peak ${r.rssMiBPeakInWindow} MiB; completed ${r.completed}${r.bytesVerified !== undefined ? `, bytes verified ${r.bytesVerified}` : ''}; stalled PATCH got ${r.stalledPatch.answer ?? 'no answer'}`)
      results.push(r)
    }
  }
  const report = {
    benchmark: 'lock-contention',
    command: `node --import tsx bench/lock-contention.ts --window-ms ${WINDOW_MS} --trials ${TRIALS}`,
    scenario: `POST an upload of ${UPLOAD_BYTES} bytes; a raw-socket PATCH at offset 0 declares all of them, sends ${STALLED_BYTES}, then stays silent with the socket open; 1 s later a second client sends HEAD (deadline: the window) and, if it answers, PATCHes the rest from the offset it reported. Server CPU % and RSS sampled every ${SAMPLE_MS} ms from the HEAD for ${WINDOW_MS} ms.`,
    servers: Object.fromEntries(servers.map((s) => [s.name, s.describe])),
    results,
    machine: machineAfter(machine),
    date: startedAt.toISOString(),
  }
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results/lock-contention.json'), `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(join(here, 'results/lock-contention.md'), markdown(report))
  console.log(markdown(report))
}

function markdown(report: { command: string; scenario: string; date: string; results: Result[]; machine: { nproc: number; node: string; loadAverageBefore: number[] } }): string {
  const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${x} ms`)
  const rows = report.results.map((r) =>
    `| ${r.server} | ${r.trial} | ${r.head.status ?? `none (${r.head.error ?? ''})`} | ${ms(r.head.answeredAfterMs)} | ${r.cpuSecondsUntilHead} s${r.cpuPercentUntilHead === undefined ? '' : ` (${r.cpuPercentUntilHead}%)`} | ${r.cpuPercentWindow} | ${r.rssMiBAtStart} → ${r.rssMiBPeakInWindow} (+${r.rssGrowthMiB}) | ${r.resumedPatch ? `${r.resumedPatch.status ?? r.resumedPatch.error} from ${r.resumedPatch.fromOffset} at ${r.resumedPatch.ms} ms` : '—'} | ${r.completed ? 'yes' : 'no'}${r.bytesVerified === undefined ? '' : r.bytesVerified ? ', bytes ok' : ', BYTES WRONG'} | ${r.stalledPatch.answer ?? 'none'} ${ms(r.stalledPatch.answeredAfterMs)} | ${r.serverAlive ? 'yes' : 'no'} |`,
  )
  return [
    '# Lock contention: a resumed upload behind a stalled PATCH',
    '',
    `\`${report.command}\` — ${report.date}, ${report.machine.nproc} cores, Node ${report.machine.node}, load average before ${report.machine.loadAverageBefore.join(' ')} (shared machine, other work running).`,
    '',
    report.scenario,
    '',
    '| server | trial | HEAD status | HEAD answered after | server CPU until HEAD | CPU % over window | RSS MiB start → peak (growth) | resumed PATCH | completed | stalled PATCH got | alive |',
    '|---|---:|---|---:|---:|---:|---|---|---|---|---|',
    ...rows,
    '',
    'CPU % is of one core (100 = one core busy); "until HEAD" is CPU-seconds from sending the HEAD to its answer (the % only when that wait is ≥ 0.5 s: /proc counts 10 ms ticks). RSS growth = peak sampled VmRSS in the window − VmRSS when the HEAD was sent. Per-sample CPU and RSS are in lock-contention.json.',
    '',
  ].join('\n')
}

await main()
