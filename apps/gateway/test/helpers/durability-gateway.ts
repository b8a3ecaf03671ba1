// A real gateway (createGateway: FsBackends in a temp dir, the durability engine, the operator
// endpoints) on a free port, plus what the durability tests share: polling the status endpoint with
// a hang guard, and finding a block's file on disk.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DurabilityStatus } from '@tessera/durability'
import type { BlockRef, Manifest } from '@tessera/storage'
import { loadConfig, type GatewayConfig } from '../../src/config.js'
import { createGateway, type Gateway } from '../../src/gateway.js'
import { RecordingLogger } from './gateway.js'

export interface DurabilityGateway {
  readonly origin: string
  readonly endpoint: string
  readonly config: GatewayConfig
  readonly gateway: Gateway
  readonly log: RecordingLogger
  readonly server: Server
  /** The backend directory of a backend id. */
  dirOf(backend: string): string
  manifest(uploadId: string): Promise<Manifest>
  /** `GET /_tessera/durability` (with the token when given), parsed. */
  status(token?: string): Promise<DurabilityStatus>
  /** Polls `GET /_tessera/durability` until `until` holds. A hang guard, not a timing assertion: it fails after `guardMs` with the last status. */
  waitFor(what: string, until: (s: DurabilityStatus) => boolean, guardMs?: number): Promise<DurabilityStatus>
  close(): Promise<void>
}

/**
 * Starts `createGateway` over a fresh temp data dir with `flags` (after `--port 0 --data DIR`) and
 * serves it; `start: true` (default) starts the durability engine as `main.ts` does once listening.
 */
export async function startDurabilityGateway(flags: readonly string[], options: { start?: boolean } = {}): Promise<DurabilityGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tessera-dur-'))
  const config = loadConfig(['--port', '0', '--data', dataDir, ...flags], {}, dataDir)
  const log = new RecordingLogger()
  const gateway = await createGateway(config, log)
  const server = createServer(gateway.app)
  server.requestTimeout = 0
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  if (options.start ?? true) gateway.durability.start()
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const dirs = new Map<string, string>()
  for (const root of config.backendDirs) dirs.set((await readFile(join(root, '.tessera-backend-id'), 'utf8')).trim(), root)
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
    dirOf(backend) {
      const dir = dirs.get(backend)
      if (!dir) throw new Error(`no directory for backend ${backend}`)
      return dir
    },
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
    },
  }
}

/** The file of a block on an `FsBackend` under `root`, and where in it the block starts. */
export function blockFile(root: string, ref: BlockRef): { file: string; offset: number } {
  const parts = ref.key.split('/')
  const last = parts.pop()!
  return { file: join(root, ...parts, `${last}~blk`), offset: ref.offset ?? 0 }
}

/** Flips one byte of a stored block on disk (bit rot: the backend answers, wrongly). */
export async function rot(root: string, ref: BlockRef): Promise<void> {
  const { file, offset } = blockFile(root, ref)
  const bytes = await readFile(file)
  bytes[offset + 7] = bytes[offset + 7]! ^ 0x5a
  await writeFile(file, bytes)
}

/** Counts of one action's outcomes in a status (`totals[action][outcome]`, 0 when absent). */
export function total(s: DurabilityStatus, action: string, outcome: string): number {
  return s.totals[action]?.[outcome] ?? 0
}
