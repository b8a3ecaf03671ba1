// A gateway process for the rebalancing crash test (test/rebalance-restart.test.ts): what main.ts
// runs — loadConfig, a pino logger on stdout, createGateway, listen, start the durability engine —
// with one fault at the backend boundary: with TESSERA_TEST_MOVE_DELAY_MS set, every write of a
// block a repair or move creates (its key `<object>/r<stripe>.<block>-…`) first waits that long,
// so a rebalancing move is still in flight when the test kills the process.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { pino } from 'pino'
import type { Backend } from '@tessera/storage'
import { loadConfig } from '../../src/config.js'
import { createGateway } from '../../src/gateway.js'

const MOVED_BLOCK_KEY = /\/r\d+\.\d+-/

/** `backend` with its writes of moved blocks delayed by `ms` (every other call as is). */
function slowMoves(backend: Backend, ms: number): Backend {
  return new Proxy(backend, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target)
      if (name !== 'put') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      return async (...args: Parameters<Backend['put']>) => {
        if (MOVED_BLOCK_KEY.test(args[0])) await delay(ms)
        return target.put(...args)
      }
    },
  })
}

const config = loadConfig(process.argv.slice(2), process.env)
const log = pino({ level: config.logLevel })
const delayMs = Number(process.env['TESSERA_TEST_MOVE_DELAY_MS'] ?? 0)
const gateway = await createGateway(config, log, { wrapBackends: (opened) => (delayMs > 0 ? opened.map((b) => slowMoves(b, delayMs)) : opened) })
const server = gateway.app.listen(config.port, config.host)
await once(server, 'listening')
server.requestTimeout = 0
console.log(`Tessera gateway listening: http://127.0.0.1:${(server.address() as AddressInfo).port}${config.basePath}`)
gateway.durability.start()
