#!/usr/bin/env node
// The fault proxy as a process: parses flags or a config file, listens, prints one line per
// endpoint for a parent to parse, reports stats on SIGUSR2 and at exit, closes on SIGTERM/SIGINT.
import { createServer, type Server } from 'node:http'
import { parseCliArgs, USAGE } from './cli-args.js'
import { isFaultProxyError } from './errors.js'
import { startFaultProxy, type FaultProxy } from './fault-proxy.js'

async function main(): Promise<void> {
  const config = await parseCliArgs(process.argv.slice(2))
  if (config.help) {
    process.stdout.write(USAGE)
    return
  }
  const proxy = await startFaultProxy(config.proxy)
  for (const e of proxy.endpoints) process.stdout.write(`fault-proxy listening: ${e.url} -> ${e.upstream}\n`)
  const control = config.controlPort === undefined ? undefined : await serveStats(proxy, config.controlPort, config.proxy.host ?? '127.0.0.1')

  const printStats = (): void => {
    process.stdout.write(`fault-proxy stats: ${JSON.stringify(proxy.stats(), finite)}\n`)
  }
  process.on('SIGUSR2', printStats)
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    printStats()
    control?.close()
    control?.closeAllConnections()
    void proxy.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

async function serveStats(proxy: FaultProxy, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/stats' || req.url === '/')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(proxy.stats(), finite)}\n`)
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /stats\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  const addr = server.address()
  const actual = typeof addr === 'object' && addr !== null ? addr.port : port
  process.stdout.write(`fault-proxy control: http://${host}:${actual}/stats\n`)
  return server
}

/** JSON has no Infinity: an unlimited rate is written as null. */
function finite(_key: string, value: unknown): unknown {
  return value === Infinity ? null : value
}

main().catch((err: unknown) => {
  const code = isFaultProxyError(err) ? err.code : 'error'
  process.stderr.write(`fault-proxy: ${code}: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(isFaultProxyError(err, 'FAULT_PROXY_ERR_INVALID_OPTION', 'FAULT_PROXY_ERR_CONFIG') ? 2 : 1)
})
