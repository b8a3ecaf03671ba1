// Uploads with the Tessera SDK (`@tessera/client`, Node entry — the same engine and defaults as the
// `tessera` CLI) in a process of its own, so its memory and CPU are its own.
//
//   node bench/.build/tessera-client.mjs --file PATH --endpoint URL [--endpoint URL …]
//     [--count N] [--session] [--options JSON] [--upload-timeout-ms MS] [--state-dir DIR]
//
// Uploads FILE `--count` times, one after another, each a fresh upload — sharing one
// `UploadSession` (endpoint capabilities and models, as a service uploading many files would) with
// `--session`. `--options` overrides UploadOptions fields (e.g. pinned partition sizes). Prints JSON lines on stdout:
//   { "kind": "started" }                               right before the first upload() call
//   { "kind": "upload", i, ok, ms, url, size, bytesSent, extraBytes, hedgesStarted, hedgesWon,
//     hedgeBytes, stalls, abandoned, attemptsFailed, error? }   one per upload; ms = upload() to `done`;
//     stalls = stall timeouts, abandoned = attempts the hedge loop judged dead and cut short
//   { "kind": "summary", wallMs, url, peakRssMiB, cpuSeconds, … }   last line
// An upload that does not settle within --upload-timeout-ms is aborted and reported with ok false.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { type UploadOptions, UploadSession, upload } from '@tessera/client'

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    endpoint: { type: 'string', multiple: true },
    count: { type: 'string', default: '1' },
    options: { type: 'string', default: '{}' },
    'upload-timeout-ms': { type: 'string', default: '600000' },
    'state-dir': { type: 'string' },
    session: { type: 'boolean', default: false },
  },
})
const file = values.file
const endpoints = values.endpoint ?? []
if (!file || endpoints.length === 0) throw new Error('--file and --endpoint are required')
if (values['state-dir']) process.env['TESSERA_STATE_DIR'] = values['state-dir']
const count = Number(values.count)
const uploadTimeoutMs = Number(values['upload-timeout-ms'])
const overrides = JSON.parse(values.options) as Partial<UploadOptions>
const session = values.session ? new UploadSession() : undefined

interface UploadLine {
  kind: 'upload'
  i: number
  ok: boolean
  ms: number
  url?: string
  size?: number
  bytesSent?: number
  extraBytes?: number
  hedgesStarted?: number
  hedgesWon?: number
  hedgeBytes?: number
  stalls: number
  abandoned: number
  attemptsFailed: number
  partitions: number
  error?: string
}

const cpuBefore = process.cpuUsage()
const results: UploadLine[] = []
console.log(JSON.stringify({ kind: 'started', atMs: Date.now() }))
for (let i = 0; i < count; i++) {
  const started = performance.now()
  const u = upload(file, { ...overrides, endpoints, metadata: { filename: basename(file) }, ...(session && { session }) })
  let stalls = 0
  let abandoned = 0
  let attemptsFailed = 0
  let partitions = 0
  let done: { bytesSent: number; extraBytes: number; hedgesStarted: number; hedgesWon: number; hedgeBytes: number } | undefined
  u.on('stall', (e) => (e.by === 'model' ? abandoned++ : stalls++))
  u.on('attempt-failed', () => attemptsFailed++)
  u.on('partition', () => partitions++)
  u.on('done', (e) => (done = e))
  const timer = setTimeout(() => u.abort(), uploadTimeoutMs)
  let line: UploadLine
  try {
    const result = await u.done
    line = { kind: 'upload', i, ok: true, ms: performance.now() - started, url: result.url, size: result.size, ...done, stalls, abandoned, attemptsFailed, partitions }
  } catch (err) {
    const e = err as { code?: string; message?: string }
    line = { kind: 'upload', i, ok: false, ms: performance.now() - started, stalls, abandoned, attemptsFailed, partitions, error: `${e.code ?? 'Error'}: ${e.message ?? String(err)}`.slice(0, 300) }
  } finally {
    clearTimeout(timer)
  }
  results.push(line)
  console.log(JSON.stringify(line))
}
const cpu = process.cpuUsage(cpuBefore)
const hwm = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m)
console.log(
  JSON.stringify({
    kind: 'summary',
    wallMs: results[0]?.ms,
    url: results[0]?.url,
    ok: results.every((r) => r.ok),
    peakRssMiB: Number(hwm?.[1] ?? NaN) / 1024,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    watchdogFires: 0,
  }),
)
process.exit(0)
