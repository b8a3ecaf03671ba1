// Small uploads and their round trips: 16 MiB uploads one after another from one @tessera/client
// process into one gateway, four variants in interleaved rounds — `trailers` (the defaults on
// node:http: a partition that may be split declares its length and digest as trailers of its
// streamed PATCH), `empty-patch` (an empty length-declaring PATCH after the body: a transport that
// cannot send trailers, as in browsers), `no-split` (`splitting: false`: created with its length,
// never deferred) and `session` (the defaults plus one `UploadSession` shared by the round's
// uploads: known endpoints skip discovery, models carry over). Optionally through a fault-proxy
// endpoint adding a one-way delay, so a round trip costs what it costs on a network.
//
//   node --import tsx bench/small-upload.ts [--rounds 6] [--uploads 10] [--delay-ms 10]
//
// Writes bench/results/small-upload.json and .md (docs/performance.md, "Change 3" and "Change 4").
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type HttpTransport, NodeHttpTransport, UploadSession, upload } from '@tessera/client'
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
const VARIANTS = ['trailers', 'empty-patch', 'no-split', 'session'] as const
type Variant = (typeof VARIANTS)[number]

/** The transport of a variant: node:http, or node:http that says it cannot send trailers. */
function transportFor(variant: Variant, inner: NodeHttpTransport): HttpTransport {
  if (variant !== 'empty-patch') return inner
  return { streamsBodies: true, sendsTrailers: false, request: (req) => inner.request(req), close: () => inner.close() }
}

const machine = machineBefore()
const data = await mkdtemp(join(tmpdir(), 'tessera-bench-small-upload-'))
const gateway = await startGateway(join(data, 'gw'), ['--log-level', 'warn'])
const proxy = DELAY_MS > 0 ? await startFaultProxy({ endpoints: [{ upstream: gateway.endpoint.replace(/\/files$/, ''), delayMs: DELAY_MS }] }) : undefined
const endpoint = proxy ? `${proxy.endpoints[0]!.url}/files` : gateway.endpoint
const bytes = seededBytes(16 * 2 ** 20, 16)
const perRound: Record<Variant, number[]> = { trailers: [], 'empty-patch': [], 'no-split': [], session: [] }
try {
  for (let r = 0; r < ROUNDS; r++) {
    // Each variant goes first, second and third in turn.
    for (const variant of VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!)) {
      const inner = new NodeHttpTransport()
      const session = variant === 'session' ? new UploadSession() : undefined
      const ms: number[] = []
      for (let i = 0; i < UPLOADS; i++) {
        const t = performance.now()
        await upload(bytes, { endpoints: [endpoint], stateStore: null, transport: transportFor(variant, inner), splitting: variant !== 'no-split', ...(session && { session }) }).done
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
  command: `node --import tsx bench/small-upload.ts --rounds ${ROUNDS} --uploads ${UPLOADS} --delay-ms ${DELAY_MS}`,
  upload_bytes: bytes.length,
  delay_ms_each_way: DELAY_MS,
  median_ms_per_round: perRound,
  median_ms: Object.fromEntries(VARIANTS.map((v) => [v, round(median(perRound[v]), 1)])),
  rounds_trailers_faster_than_empty_patch: perRound.trailers.filter((t, i) => t < perRound['empty-patch'][i]!).length,
  rounds_session_faster_than_trailers: perRound.session.filter((t, i) => t < perRound.trailers[i]!).length,
  machine: machineAfter(machine),
}
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results/small-upload.json'), `${JSON.stringify(report, null, 2)}\n`)
const rows = VARIANTS.map((v) => `| ${v} | ${perRound[v].join(' / ')} | ${report.median_ms[v]} |`)
writeFileSync(
  join(here, 'results/small-upload.md'),
  `# Small uploads — 16 MiB, ${DELAY_MS} ms each way\n\n\`${report.command}\`\n\n| variant | median ms per round | median |\n|---|---|---:|\n${rows.join('\n')}\n\ntrailers faster than the empty PATCH in ${report.rounds_trailers_faster_than_empty_patch} of ${ROUNDS} rounds; session faster than trailers in ${report.rounds_session_faster_than_trailers}.\n`,
)
console.log(rows.join('\n'))
