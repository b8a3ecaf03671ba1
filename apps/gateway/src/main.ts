#!/usr/bin/env node
// The gateway process: configuration, logger, listening, signals. Everything else is createGateway.
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import { backendLabel } from './backend-spec.js'
import { loadConfig, usage } from './config.js'
import { GatewayError } from './errors.js'
import { createGateway } from './gateway.js'

const SHUTDOWN_GRACE_MS = 10_000

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage())
    return
  }
  let config
  try {
    config = loadConfig(argv, process.env)
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err
    console.error(`tessera gateway: ${err.message}\n\nRun with --help for the options.`)
    process.exitCode = 2
    return
  }
  const log = pino({
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', 'metadata', '*.metadata'], censor: '[redacted]' },
  })
  let gateway
  try {
    gateway = await createGateway(config, log)
  } catch (err) {
    if (!(err instanceof GatewayError && err.code === 'GATEWAY_ERR_BACKEND_UNAVAILABLE')) throw err
    // Not retried here: the supervisor's restart is the retry (see openBackends).
    log.fatal({ err }, 'backends could not be opened')
    console.error(`tessera gateway: ${err.message}`)
    process.exitCode = 1
    return
  }
  const server = gateway.app.listen(config.port, config.host)
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  // Node's default request timeout (5 min) would cut long uploads; stalls are the client's to detect.
  server.requestTimeout = 0
  const { port } = server.address() as AddressInfo
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  console.log(`Tessera gateway listening: http://${host}:${port}${config.basePath}`)
  // On stderr, whatever the log level: an open gateway must not go unnoticed.
  if (config.auth.mode === 'none') console.warn('tessera gateway: warning: --auth none: anyone who can reach this port can read, change and delete every upload (see --auth jwt)')
  log.info({ port, host: config.host, backends: config.backends.map(backendLabel), dataBlocks: config.dataBlocks, parityBlocks: config.parityBlocks }, 'gateway started')
  // Background durability only once the gateway serves: a failing start must not leave timers behind.
  gateway.durability.start()

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal, inflight: gateway.context.inflight.size }, 'shutting down')
    // No new background work while draining; a running repair finishes (its copies are verified
    // before they are referenced, so even the grace-period exit below leaves every object readable).
    void gateway.durability.stop()
    server.close(() => {
      void gateway.close().then(() => {
        log.info({}, 'stopped')
        process.exit(0)
      })
    })
    server.closeIdleConnections()
    gateway.context.shutdown()
    setTimeout(() => {
      log.warn({}, 'connections still open after the grace period; exiting')
      process.exit(0)
    }, SHUTDOWN_GRACE_MS).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err: unknown) => {
  console.error('tessera gateway failed to start:', err)
  process.exit(1)
})
