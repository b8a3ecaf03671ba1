// Declaring a deferred length: what a partition that may be split costs in round trips. 16 MiB
// uploads from one @tessera/client process into one gateway, three variants in interleaved rounds:
// `trailers` (the length and digest as trailers of the streamed PATCH, the default on node:http),
// `empty-patch` (an empty length-declaring PATCH after the body: a transport that cannot send
// trailers, as in browsers) and `no-split` (`splitting: false`: created with its length, never
// deferred). Optionally through a fault-proxy endpoint adding a one-way delay, so the round trip
// costs what it costs on a network.
//
//   node --import tsx bench/declare.ts [--rounds 6] [--uploads 10] [--delay-ms 10]
//
// Writes bench/results/declare.json and .md (docs/performance.md, "Change 3").
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type HttpTransport, NodeHttpTransport, upload } from '@tessera/client'
import { startFaultProxy } from '@tessera/fault-proxy'
import { startGateway } from './lib/gateway.js'
import { machineAfter, machineBefore } from './lib/machine.js'
import { stopChild } from './lib/proc.js'
import { seededBytes } from './lib/seeded-file.js'
import { median, round } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' }, uploads: { type: 'string', default: '10' }, 'delay-ms': { type: 'string', default: '10' } } })
const ROUNDS = Number(values.rounds)
const UPLOADS = Number(values.uploads)
const DELAY_MS = Number(values['delay-ms'])
const VARIANTS = ['trailers', 'empty-patch', 'no-split'] as const
type Variant = (typeof VARIANTS)[number]

/** The transport of a variant: node:http, or node:http that says it cannot send trailers. */
function transportFor(variant: Variant, inner: NodeHttpTransport): HttpTransport {
  if (variant !== 'empty-patch') return inner
  return { streamsBodies: true, sendsTrailers: false, request: (req) => inner.request(req), close: () => inner.close() }
}

const machine = machineBefore()
const data = await mkdtemp(join(tmpdir(), 'tessera-bench-declare-'))
const gateway = await startGateway(join(data, 'gw'), ['--log-level', 'warn'])
const proxy = DELAY_MS > 0 ? await startFaultProxy({ endpoints: [{ upstream: gateway.endpoint.replace(/\/files$/, ''), delayMs: DELAY_MS }] }) : undefined
const endpoint = proxy ? `${proxy.endpoints[0]!.url}/files` : gateway.endpoint
const bytes = seededBytes(16 * 2 ** 20, 16)
const perRound: Record<Variant, number[]> = { trailers: [], 'empty-patch': [], 'no-split': [] }
try {
  for (let r = 0; r < ROUNDS; r++) {
    // Each variant goes first, second and third in turn.
    for (const variant of VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!)) {
      const inner = new NodeHttpTransport()
      const ms: number[] = []
      for (let i = 0; i < UPLOADS; i++) {
        const t = performance.now()
        await upload(bytes, { endpoints: [endpoint], stateStore: null, transport: transportFor(variant, inner), splitting: variant !== 'no-split' }).done
        ms.push(performance.now() - t)
      }
      await inner.close()
      perRound[variant].push(round(median(ms), 1))
    }
  }
} finally {
  await proxy?.close()
  await stopChild(gateway.server)
  await rm(data, { recursive: true, force: true })
}

const report = {
  command: `node --import tsx bench/declare.ts --rounds ${ROUNDS} --uploads ${UPLOADS} --delay-ms ${DELAY_MS}`,
  upload_bytes: bytes.length,
  delay_ms_each_way: DELAY_MS,
  median_ms_per_round: perRound,
  median_ms: Object.fromEntries(VARIANTS.map((v) => [v, round(median(perRound[v]), 1)])),
  rounds_trailers_faster_than_empty_patch: perRound.trailers.filter((t, i) => t < perRound['empty-patch'][i]!).length,
  machine: machineAfter(machine),
}
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results/declare.json'), `${JSON.stringify(report, null, 2)}\n`)
const rows = VARIANTS.map((v) => `| ${v} | ${perRound[v].join(' / ')} | ${report.median_ms[v]} |`)
writeFileSync(
  join(here, 'results/declare.md'),
  `# Declaring a deferred length — 16 MiB uploads, ${DELAY_MS} ms each way\n\n\`${report.command}\`\n\n| variant | median ms per round | median |\n|---|---|---:|\n${rows.join('\n')}\n\ntrailers faster than the empty PATCH in ${report.rounds_trailers_faster_than_empty_patch} of ${ROUNDS} rounds.\n`,
)
console.log(rows.join('\n'))
