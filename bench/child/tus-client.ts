// One upload with stock tus-js-client 4.3.1 in a process of its own (so its memory is its own),
// with the application watchdog DESIGN.md prescribes: tus-js-client has no stall detection and a
// black-holed socket hangs it forever, so no progress for `--watchdog-ms` → abort() → start().
//
//   node --import tsx bench/child/tus-client.ts --endpoint URL --file PATH [--parallel N] [--watchdog-ms 10000]
//
// Prints one JSON line: { wallMs, url, watchdogFires, peakRssMiB, cpuSeconds }. wallMs runs from
// start() to onSuccess, i.e. to the server's answer to the last request (final PATCH, or the
// concatenation POST with --parallel).
import { createReadStream, readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { Upload } from 'tus-js-client'

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    file: { type: 'string' },
    parallel: { type: 'string', default: '1' },
    'watchdog-ms': { type: 'string', default: '10000' },
  },
})
const { endpoint, file } = values
if (!endpoint || !file) throw new Error('--endpoint and --file are required')
const parallel = Number(values.parallel)
const watchdogMs = Number(values['watchdog-ms'])

const cpuBefore = process.cpuUsage()
const started = performance.now()
let lastProgress = started
let watchdogFires = 0
let restarting = false

const url = await new Promise<string>((resolve, reject) => {
  const upload = new Upload(createReadStream(file), {
    endpoint,
    // chunkSize stays at its default, Infinity: the whole file in one PATCH (per part).
    parallelUploads: parallel,
    metadata: { filename: basename(file), filetype: 'application/octet-stream' },
    onProgress: () => {
      lastProgress = performance.now()
    },
    onSuccess: () => resolve(upload.url!),
    onError: reject,
  })
  const watchdog = setInterval(() => {
    if (restarting || performance.now() - lastProgress < watchdogMs) return
    // Await abort() before start(): starting at once can leave two request chains running.
    watchdogFires++
    restarting = true
    void upload.abort().then(() => {
      restarting = false
      lastProgress = performance.now()
      upload.start()
    }, reject)
  }, 250)
  watchdog.unref()
  upload.start()
})
const wallMs = performance.now() - started
const cpu = process.cpuUsage(cpuBefore)
const hwm = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m)
console.log(JSON.stringify({ wallMs, url, watchdogFires, peakRssMiB: Number(hwm?.[1] ?? NaN) / 1024, cpuSeconds: (cpu.user + cpu.system) / 1e6 }))
process.exit(0)
