// @tessera/fault-proxy in a process of its own, driven over stdin: the adaptive bench needs the
// shaping out of its own event loop (the proxy's pump can keep a loop busy for seconds at low
// rates) and needs to restart the bandwidth schedule at the moment the client starts.
//
//   node bench/.build/fault-proxy.mjs --config JSON
//
// Prints `{"kind":"listening","urls":[…]}`; then per stdin line `restart` → restarts every
// endpoint's schedule and prints `{"kind":"restarted","atEpochMs":…}`; `stats` → `{"kind":"stats",…}`.
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { type FaultProxyOptions, startFaultProxy } from '@tessera/fault-proxy'

const { values } = parseArgs({ options: { config: { type: 'string' } } })
if (!values.config) throw new Error('--config JSON is required')
const proxy = await startFaultProxy(JSON.parse(values.config) as FaultProxyOptions)
console.log(JSON.stringify({ kind: 'listening', urls: proxy.endpoints.map((e) => e.url) }))
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'restart') {
    for (const e of proxy.endpoints) e.restartSchedule()
    console.log(JSON.stringify({ kind: 'restarted', atEpochMs: performance.timeOrigin + performance.now() }))
  } else if (line === 'stats') {
    console.log(JSON.stringify({ kind: 'stats', ...proxy.stats() }))
  }
})
const close = () => void proxy.close().then(() => process.exit(0))
process.on('SIGTERM', close)
process.stdin.on('end', close)
