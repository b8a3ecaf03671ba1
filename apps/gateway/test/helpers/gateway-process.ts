// A real gateway process for the crash tests (kill -9 and restart on the same data directory):
// spawned with `node`, ready once it prints its listening line, killed with SIGKILL.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'

/** A gateway process that is listening. */
export interface GatewayProcess {
  readonly child: ChildProcessWithoutNullStreams
  /** The tus endpoint it printed, e.g. `http://127.0.0.1:41234/files`. */
  readonly endpoint: string
  /** Everything the process wrote to stdout so far (pino lines). */
  readonly stdout: () => string
}

/**
 * Runs `node <nodeArgs>` and resolves once it prints `Tessera gateway listening: <endpoint>`;
 * rejects, with its stderr, if it exits before. `onLine` sees each complete stdout line.
 */
export async function startGatewayProcess(nodeArgs: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, nodeArgs, { stdio: ['pipe', 'pipe', 'pipe'], ...(options.cwd && { cwd: options.cwd }), ...(options.env && { env: options.env }) })
  let out = ''
  let pending = ''
  let err = ''
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const lines = (pending + c.toString()).split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        options.onLine?.(line)
        const match = /^Tessera gateway listening: (http:\/\/127\.0\.0\.1:\d+\/\S*)$/.exec(line)
        if (match) resolve(match[1]!)
      }
    })
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${err}`)))
  })
  return { child, endpoint, stdout: () => out }
}

/** SIGKILLs the process and waits for it to exit. */
export async function kill9(run: Pick<GatewayProcess, 'child'>): Promise<void> {
  const exited = new Promise((resolve) => run.child.once('exit', resolve))
  run.child.kill('SIGKILL')
  await exited
}

/** Whether the process is still running (for an `after` hook's cleanup). */
export function isRunning(run: Pick<GatewayProcess, 'child'> | undefined): boolean {
  return run !== undefined && run.child.exitCode === null && run.child.signalCode === null
}
