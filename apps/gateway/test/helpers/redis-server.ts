// A redis-server of a test's own, as a child process on a free port with no persistence: a test
// may kill it (Redis going away) and start it again on the same port, and leaves nothing behind
// in the machine's shared Redis.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'

export const REDIS_SERVER = '/usr/bin/redis-server'

/** Why tests needing {@link startRedis} cannot run here, or `false`. */
export const noRedisServer: string | false = existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} not found`

/** A free TCP port on 127.0.0.1 (closed again: the Redis started next takes it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The servers {@link startRedis} started that have not exited. */
const running = new Set<ChildProcess>()

/** Starts redis-server on `port`; resolves once it accepts connections. Killed by {@link stopRedis} or {@link stopAllRedis}. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  child.once('exit', () => running.delete(child))
  await new Promise<void>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000)
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)))
  })
  return child
}

/** SIGKILLs a redis-server started by {@link startRedis} (no-op once exited); resolves once it exited. */
export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

/** Stops every server still running: a test file's `after`, once the gateways using them are closed. */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...running].map(stopRedis))
}
