// The Tessera gateway as a bench child: the built `apps/gateway/dist/main.js` on port 0 with a
// fresh data directory, default geometry (4+2, fs backends) unless flags say otherwise.
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pinned, type Started, startChild } from './proc.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** Path of the built gateway entry; `npm run build` makes it. */
export const GATEWAY_MAIN = join(root, 'apps/gateway/dist/main.js')

/** A started gateway and its tus creation URL (`http://127.0.0.1:<port>/files`). */
export interface StartedGateway {
  readonly server: Started
  readonly endpoint: string
}

/** Starts a gateway on `data` (which should be a fresh `mkdtemp` directory); `cpus` pins it (`taskset -c`). */
export async function startGateway(data: string, extraArgs: readonly string[] = [], cpus?: string): Promise<StartedGateway> {
  const [command, args] = pinned(cpus, process.execPath, [GATEWAY_MAIN, '--port', '0', '--data', data, ...extraArgs])
  const server = await startChild(command, args, /listening: (http:\/\/\S+)/)
  return { server, endpoint: server.match[1]! }
}
