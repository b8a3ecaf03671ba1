// The ceiling's client: streams a file as one PUT body with node:http, nothing else.
//
//   node --import tsx bench/child/raw-put-client.ts --url URL --file PATH
//
// Prints one JSON line: { wallMs, status, peakRssMiB, cpuSeconds }; wallMs runs to the response.
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { url: { type: 'string' }, file: { type: 'string' } } })
const { url, file } = values
if (!url || !file) throw new Error('--url and --file are required')

const cpuBefore = process.cpuUsage()
const started = performance.now()
const status = await new Promise<number>((resolve, reject) => {
  const req = request(url, { method: 'PUT', headers: { 'Content-Length': String(statSync(file).size), 'Content-Type': 'application/octet-stream' } }, (res) => {
    res.resume()
    res.on('end', () => resolve(res.statusCode ?? 0))
  })
  req.on('error', reject)
  pipeline(createReadStream(file), req).catch(reject)
})
const wallMs = performance.now() - started
const cpu = process.cpuUsage(cpuBefore)
const hwm = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m)
if (status !== 201) throw new Error(`PUT answered ${status}`)
console.log(JSON.stringify({ wallMs, status, peakRssMiB: Number(hwm?.[1] ?? NaN) / 1024, cpuSeconds: (cpu.user + cpu.system) / 1e6 }))
