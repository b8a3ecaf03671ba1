// Child processes for the benches: start one and wait for the line that says it is ready, read its
// CPU time and memory from /proc, stop it. Linux only (the benches read /proc/<pid>/*).
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

/** Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`; 100 on every Linux we run on). */
const CLK_TCK = 100

/** A started child process and the first stdout line that matched its ready pattern. */
export interface Started {
  readonly child: ChildProcess
  readonly pid: number
  readonly match: RegExpMatchArray
  /** The last ~20 kB the child wrote to stderr (for error messages). */
  readonly stderr: () => string
  /** The last ~20 kB the child wrote to stdout after its ready line (logs). */
  readonly stdout: () => string
  /** Resolves with the exit code (or signal name) once the child has exited. */
  readonly exited: Promise<number | string>
}

/**
 * Spawns `command args` and resolves once a stdout line matches `ready`.
 * Rejects when the child exits first or `timeoutMs` passes.
 */
/**
 * `command args` run on the CPUs `cpus` (a `taskset -c` list, e.g. `'1'`) when given: taskset execs
 * the command, so the pid, `/proc/<pid>/stat` and signals are the command's own.
 */
export function pinned(cpus: string | undefined, command: string, args: readonly string[]): [string, string[]] {
  return cpus === undefined ? [command, [...args]] : ['taskset', ['-c', cpus, command, ...args]]
}

export function startChild(command: string, args: readonly string[], ready: RegExp, options: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Started> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (s: string) => {
    err = (err + s).slice(-20_000)
  })
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  const lines = createInterface({ input: child.stdout! })
  let out = ''
  return new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')}: not ready within ${options.timeoutMs ?? 30_000} ms\n${err}`))
    }, options.timeoutMs ?? 30_000)
    let started = false
    lines.on('line', (line) => {
      if (started) {
        out = (out + line + '\n').slice(-20_000)
        return
      }
      const match = line.match(ready)
      if (match) {
        started = true
        clearTimeout(timer)
        resolve({ child, pid: child.pid!, match, stderr: () => err, stdout: () => out, exited })
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${command} ${args.join(' ')} exited (${code}) before it was ready\n${err}`))
    })
  })
}

/** Runs a child to completion and parses the last stdout line as JSON. */
export async function runJsonChild<T>(command: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<T> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s))
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-20_000)))
  const timeoutMs = options.timeoutMs ?? 600_000
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | string>((resolve) => child.once('exit', (c, s) => resolve(c ?? s ?? 'unknown')))
  clearTimeout(timer)
  const last = out.trim().split('\n').pop() ?? ''
  if (code !== 0) throw new Error(`${args.join(' ')} exited (${code})\n${out.slice(-2000)}\n${err}`)
  return JSON.parse(last) as T
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. Resolves when it has exited. */
export async function stopChild(started: Started, graceMs = 5_000): Promise<void> {
  if (started.child.exitCode !== null || started.child.signalCode !== null) return
  started.child.kill('SIGTERM')
  const timer = setTimeout(() => started.child.kill('SIGKILL'), graceMs)
  await started.exited
  clearTimeout(timer)
}

/** User and system CPU seconds the process has used so far (all its threads, libuv's pool too). */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK }
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid)
  return user + system
}

function statusKiB(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))
  if (!m) throw new Error(`no ${key} in /proc/${pid}/status`)
  return Number(m[1])
}

/** Peak resident set size of a live process, MiB (VmHWM). */
export function peakRssMiB(pid: number): number {
  return statusKiB(pid, 'VmHWM') / 1024
}

/** Current resident set size of a live process, MiB (VmRSS). */
export function rssMiB(pid: number): number {
  return statusKiB(pid, 'VmRSS') / 1024
}

/** Whether a process with this pid still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A child that prints JSON lines, as the multi-upload bench clients do. */
export interface JsonLinesRun<T> {
  /** Exit code or signal name (`SIGKILL` after a timeout). */
  readonly code: number | string
  /** Every stdout line that parsed as JSON, in order. */
  readonly lines: T[]
  readonly stderr: string
  readonly timedOut: boolean
}

/**
 * Runs a child to its end, collecting the JSON lines it prints on stdout. `onLine` sees each one as
 * it arrives (e.g. a `started` line the parent reacts to). After `timeoutMs` the child is killed
 * with SIGKILL and the run resolves with `timedOut` — it never rejects and never hangs.
 * `signal` kills it (SIGTERM, then SIGKILL after 5 s) when the parent no longer needs it.
 */
export function runJsonLines<T>(
  command: string,
  args: readonly string[],
  options: { timeoutMs: number; onLine?: (line: T) => void; env?: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<JsonLinesRun<T>> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env })
  const lines: T[] = []
  let err = ''
  let timedOut = false
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-20_000)))
  createInterface({ input: child.stdout }).on('line', (text) => {
    if (!text.startsWith('{')) return
    let line: T
    try {
      line = JSON.parse(text) as T
    } catch {
      return
    }
    lines.push(line)
    options.onLine?.(line)
  })
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, options.timeoutMs)
  let graceTimer: NodeJS.Timeout | undefined
  const stop = () => {
    child.kill('SIGTERM')
    graceTimer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  }
  options.signal?.addEventListener('abort', stop, { once: true })
  return new Promise((resolve) => {
    child.once('close', (c, s) => {
      clearTimeout(timer)
      clearTimeout(graceTimer)
      options.signal?.removeEventListener('abort', stop)
      resolve({ code: c ?? s ?? 'unknown', lines, stderr: err, timedOut })
    })
  })
}
