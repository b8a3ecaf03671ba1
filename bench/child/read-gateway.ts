// The Tessera gateway for the read bench: `createGateway` over the configured backends, each behind
// a FaultyBackend, so the bench can slow one backend's reads for part of the run.
//
//   node bench/.build/read-gateway.mjs --slow-ms 50 [--durability] <gateway flags>
//
// Prints `read-gateway listening: http://127.0.0.1:<port>/files` once it serves. SIGUSR1 adds
// `--slow-ms` to every read of the first backend, SIGUSR2 ends it. `--durability` starts the
// durability engine once listening, as main.ts does (health, repair, rebalancing moves).
import type { AddressInfo } from 'node:net'
import { createGateway, loadConfig } from '@tessera/gateway'
import { FaultyBackend, silentLogger } from '@tessera/storage'

const argv = process.argv.slice(2)
const at = argv.indexOf('--slow-ms')
const slowMs = at >= 0 ? Number(argv.splice(at, 2)[1]) : 50
const durability = argv.indexOf('--durability')
if (durability >= 0) argv.splice(durability, 1)
const config = loadConfig(argv, process.env)
let slowed: FaultyBackend | undefined
const gateway = await createGateway(config, silentLogger, {
  wrapBackends: (opened) =>
    opened.map((b, i) => {
      const faulty = new FaultyBackend(b, { seed: i + 1 })
      if (i === 0) slowed = faulty
      return faulty
    }),
})
const server = gateway.app.listen(config.port, config.host, () => {
  const { port } = server.address() as AddressInfo
  console.log(`read-gateway listening: http://127.0.0.1:${port}${config.basePath}`)
  if (durability >= 0) gateway.durability.start()
})
server.requestTimeout = 0
process.on('SIGUSR1', () => slowed?.setFaults({ latencyMs: slowMs, ops: ['read'] }))
process.on('SIGUSR2', () => slowed?.setFaults({ latencyMs: 0 }))
process.on('SIGTERM', () => process.exit(0))
