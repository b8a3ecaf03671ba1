import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built gateway entry point (`npm run build` first). */
export const GATEWAY_MAIN = fileURLToPath(new URL('../../apps/gateway/dist/main.js', import.meta.url))

const LISTENING = /^Tessera gateway listening: (http:\/\/\S+)$/m
const START_TIMEOUT_MS = 20_000

/** One pino log line of the gateway (what it printed as JSON on stdout). */
export interface LogLine {
  readonly level: number
  readonly msg: string
  readonly [field: string]: unknown
}

/** A gateway running as a child process. */
export interface GatewayProcess {
  /** The upload endpoint, e.g. `http://127.0.0.1:40123/files`. */
  readonly url: string
  readonly pid: number
  readonly child: ChildProcess
  /** Every JSON log line seen so far. */
  readonly logs: LogLine[]
  /** Everything printed on stderr so far. */
  readonly stderr: () => string
  /** Resolves the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>
  /** Sends `signal` (default SIGTERM) and resolves how the process exited. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | string>
}

/** Options of {@link startGateway}. */
export interface StartGatewayOptions {
  /** `--data` directory. */
  readonly dataDir: string
  /** `--port`; default 0 (any free port). A restart may reuse the previous port so stored URLs stay valid. */
  readonly port?: number
  /** More command-line arguments (`--parity-blocks 1`, …). */
  readonly args?: readonly string[]
  /** Environment variables to set (or, `undefined`, unset) over this process's own. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

function argsOf(options: StartGatewayOptions): string[] {
  return [GATEWAY_MAIN, '--port', String(options.port ?? 0), '--data', options.dataDir, ...(options.args ?? [])]
}

/** spawn passes no variable whose value is `undefined`: that is how `env` unsets one. */
function envOf(options: StartGatewayOptions): NodeJS.ProcessEnv {
  return { ...process.env, ...options.env }
}

/**
 * Spawns `node apps/gateway/dist/main.js --port 0 --data DIR` (or the given port) and resolves once it printed the URL
 * it listens on. Rejects (after killing it) if it exits or stays silent for 20 s.
 */
export async function startGateway(options: StartGatewayOptions): Promise<GatewayProcess> {
  const child = spawn(process.execPath, argsOf(options), { stdio: ['ignore', 'pipe', 'pipe'], env: envOf(options) })
  const logs: LogLine[] = []
  let stderr = ''
  let pending = ''
  let url: string | undefined
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway printed no URL within ${START_TIMEOUT_MS} ms; stderr: ${stderr}`)), START_TIMEOUT_MS)
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      pending += text
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        if (line.startsWith('{')) {
          try {
            logs.push(JSON.parse(line) as LogLine)
          } catch {
            // a line that only looks like JSON is not a log line; ignore it
          }
          continue
        }
        const match = LISTENING.exec(line)
        if (match && url === undefined) {
          url = match[1]!
          clearTimeout(timer)
          resolve(url)
        }
      }
    })
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    void exited.then((how) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited (${how}) before listening; stderr: ${stderr}`))
    })
  })
  try {
    await ready
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    url: url!,
    pid: child.pid!,
    child,
    logs,
    stderr: () => stderr,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** How a gateway process that was expected not to start ended. */
export interface GatewayExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the gateway to its exit (for starts that must fail), killing it if it runs past `timeoutMs`. */
export function runGatewayToExit(options: StartGatewayOptions, timeoutMs = START_TIMEOUT_MS): Promise<GatewayExit> {
  const child = spawn(process.execPath, argsOf(options), { stdio: ['ignore', 'pipe', 'pipe'], env: envOf(options) })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (stdout += t))
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** `url`'s path on `gateway`: the same upload asked of another gateway (of a cluster, or a restarted one on a new port). */
export function urlOn(gateway: GatewayProcess, url: string): string {
  return new URL(new URL(url).pathname, gateway.url).href
}

/** Kills a gateway hard if it still runs (for `after` hooks: never throws). */
export async function killGateway(gateway: GatewayProcess | undefined): Promise<void> {
  if (!gateway) return
  await gateway.stop('SIGKILL').catch(() => undefined)
}

/** A fresh temp directory under the OS temp dir. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tessera-${prefix}-`))
}

/** Removes a temp directory and everything under it (never throws). */
export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined)
}

/** Peak resident set size of a live process, bytes (`VmHWM` of `/proc/<pid>/status`, Linux). */
export async function peakRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status)
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`)
  return Number(match[1]) * 1024
}

/**
 * Resolves the first log line matching `predicate`, waiting for it: pino writes asynchronously, so
 * a line may arrive after the response it describes. Rejects after `timeoutMs` (a hang guard).
 */
export async function waitForLog(gateway: GatewayProcess, predicate: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const line = gateway.logs.find(predicate)
    if (line) return line
    if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
