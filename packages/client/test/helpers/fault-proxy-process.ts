// @tessera/fault-proxy as a real process (its CLI, `tools/fault-proxy/dist/main.js`), started as a
// child with a JSON config; its `fault-proxy listening: URL -> UPSTREAM` lines give the endpoints,
// its `/stats` control port the fault counters. No import of the package: only its process.
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers.js'

const MAIN = fileURLToPath(new URL('../../../../tools/fault-proxy/dist/main.js', import.meta.url))

/** One endpoint of the config file (option names as in the fault-proxy README). */
export interface ProxyEndpointConfig {
  readonly name: string
  readonly upstream: string
  readonly [option: string]: unknown
}

/** Per-endpoint counters of `GET /stats` (the fields tests read). */
export interface ProxyEndpointStats {
  readonly name: string
  readonly requests: number
  readonly bytesUp: number
  readonly faults: { readonly stall: number; readonly reset: number; readonly status: number; readonly latency: number }
}

export interface ProxyProcess {
  /** Creation URL (`…/files`) per endpoint, in config order. */
  readonly endpoints: readonly string[]
  readonly pid: number
  /** Live counters, from the control port. */
  stats(): Promise<ProxyEndpointStats[]>
  /** SIGTERM; resolves the final stats line the process printed and its exit code. */
  stop(): Promise<{ code: number | null; stats: ProxyEndpointStats[] | undefined }>
}

/** Starts the proxy CLI with `--config` (+ `--seed`, `--control 0`); resolves once every endpoint listens. */
export async function startProxyProcess(seed: number, endpoints: readonly ProxyEndpointConfig[]): Promise<ProxyProcess> {
  const tmp = await tempDir('tessera-client-proxy-')
  const config = join(tmp.dir, 'proxy.json')
  await writeFile(config, JSON.stringify({ endpoints }))
  const child: ChildProcess = spawn(process.execPath, [MAIN, '--config', config, '--seed', String(seed), '--control', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const { urls, control } = await new Promise<{ urls: string[]; control: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fault-proxy did not start: ${out}${err}`)), 15_000)
    const check = (): void => {
      const urls = [...out.matchAll(/^fault-proxy listening: (http:\/\/\S+) -> /gm)].map((m) => m[1]!)
      const control = /^fault-proxy control: (http:\/\/\S+)$/m.exec(out)?.[1]
      if (urls.length === endpoints.length && control !== undefined) {
        clearTimeout(timer)
        child.stdout!.off('data', check)
        resolve({ urls, control })
      }
    }
    child.stdout!.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`fault-proxy exited with ${code}: ${out}${err}`))
    })
  })
  const parse = (text: string): ProxyEndpointStats[] => (JSON.parse(text) as { endpoints: ProxyEndpointStats[] }).endpoints
  return {
    endpoints: urls.map((u) => `${u}/files`),
    pid: child.pid!,
    async stats() {
      const res = await fetch(control)
      return parse(await res.text())
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      const code = await exited
      await tmp.remove()
      const line = /^fault-proxy stats: (.*)$/m.exec(out)?.[1]
      return { code, stats: line === undefined ? undefined : parse(line) }
    },
  }
}
