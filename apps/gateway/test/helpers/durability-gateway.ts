// A real gateway (createGateway: backends in a temp dir or buckets of the real S3 server, the
// durability engine, the operator endpoints) on a free port, plus what the durability tests share:
// polling the status endpoint with a hang guard, and reaching behind the gateway to its backends.
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DurabilityStatus } from '@tessera/durability'
import type { Manifest } from '@tessera/storage'
import { loadConfig, type GatewayConfig } from '../../src/config.js'
import { createGateway, type Gateway } from '../../src/gateway.js'
import { fsMedium, type BackendMedium } from '../../src/testing/index.js'
import { RecordingLogger } from './gateway.js'

export interface DurabilityGateway {
  readonly origin: string
  readonly endpoint: string
  readonly config: GatewayConfig
  readonly gateway: Gateway
  readonly log: RecordingLogger
  readonly server: Server
  /** The backends' directories or buckets. */
  readonly medium: BackendMedium
  manifest(uploadId: string): Promise<Manifest>
  /** `GET /_tessera/durability` (with the token when given), parsed. */
  status(token?: string): Promise<DurabilityStatus>
  /** Polls `GET /_tessera/durability` until `until` holds. A hang guard, not a timing assertion: it fails after `guardMs` with the last status. */
  waitFor(what: string, until: (s: DurabilityStatus) => boolean, guardMs?: number): Promise<DurabilityStatus>
  close(): Promise<void>
}

/**
 * Starts `createGateway` over a fresh temp data dir with `flags` (after `--port 0 --data DIR` and
 * the medium's flags) and serves it; `start: true` (default) starts the durability engine as
 * `main.ts` does once listening. `medium` makes the backends for the data dir (default: the
 * default backend directories); it is disposed by `close()`.
 */
export async function startDurabilityGateway(flags: readonly string[], options: { start?: boolean; medium?: (dataDir: string) => BackendMedium } = {}): Promise<DurabilityGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tessera-dur-'))
  const given = options.medium?.(dataDir)
  const config = loadConfig(['--port', '0', '--data', dataDir, ...(given?.flags ?? []), ...flags], {}, dataDir)
  const medium = given ?? fsMedium(config.backends.flatMap((b) => (b.kind === 'fs' ? [b.dir] : [])))
  const log = new RecordingLogger()
  const gateway = await createGateway(config, log).catch(async (err: unknown) => {
    await rm(dataDir, { recursive: true, force: true })
    await medium.dispose()
    throw err
  })
  const server = createServer(gateway.app)
  server.requestTimeout = 0
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  if (options.start ?? true) gateway.durability.start()
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const status = async (token?: string): Promise<DurabilityStatus> => {
    const res = await fetch(`${origin}/_tessera/durability`, token ? { headers: { authorization: `Bearer ${token}` } } : {})
    if (res.status !== 200) throw new Error(`status endpoint: ${res.status} ${await res.text()}`)
    return (await res.json()) as DurabilityStatus
  }
  return {
    origin,
    endpoint: `${origin}${config.basePath}`,
    config,
    gateway,
    log,
    server,
    medium,
    async manifest(uploadId) {
      const m = await gateway.store.options.manifests.get(uploadId)
      if (!m) throw new Error(`no manifest for ${uploadId}`)
      return m
    },
    status,
    async waitFor(what, until, guardMs = 20_000) {
      const deadline = Date.now() + guardMs
      let last: DurabilityStatus | undefined
      for (;;) {
        last = await status()
        if (until(last)) return last
        if (Date.now() > deadline) throw new Error(`hang guard: ${what} did not happen; last status ${JSON.stringify({ totals: last.totals, recent: last.recent.slice(-10), queue: last.queue })}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    async close() {
      await gateway.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(dataDir, { recursive: true, force: true })
      await medium.dispose()
    },
  }
}

/** Counts of one action's outcomes in a status (`totals[action][outcome]`, 0 when absent). */
export function total(s: DurabilityStatus, action: string, outcome: string): number {
  return s.totals[action]?.[outcome] ?? 0
}
