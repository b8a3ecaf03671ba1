// The gateway process (dist/main.js) runs the durability engine: started once listening (the
// operator endpoints say so, probes run), stopped on SIGTERM with the scrub ledger saved, exit 0;
// a bad durability option exits 2 listing every problem.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const HANG_GUARD = { timeout: 30_000 }

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

function run(args: readonly string[]): { child: ReturnType<typeof spawn>; exited: Promise<Exit>; listening: Promise<string> } {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let onLine: ((url: string) => void) | undefined
  const listening = new Promise<string>((resolve) => (onLine = resolve))
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString()
    const match = /Tessera gateway listening: (http:\/\/127\.0\.0\.1:\d+)\/files\n/.exec(stdout)
    if (match) onLine!(match[1]!)
  })
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => setImmediate(() => resolve({ code, signal, stdout, stderr }))))
  const ready = Promise.race([listening, exited.then((r) => Promise.reject(new Error(`exited ${r.code} before listening: ${r.stderr}`)))])
  ready.catch(() => undefined) // awaited only by callers expecting it to listen
  return { child, exited, listening: ready }
}

describe('dist/main.js with durability', () => {
  before(() => assert.ok(existsSync(MAIN), 'dist/main.js is not built: run `npm run build` first'))
  let dataDir: string
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-dmain-'))
  })
  after(() => rm(dataDir, { recursive: true, force: true }))

  test('the engine runs once listening, logs its start, and SIGTERM stops it with the ledger saved, exit 0', HANG_GUARD, async () => {
    const p = run(['--port', '0', '--data', dataDir, '--durability', 'predictive', '--probe-interval', '50ms', '--log-level', 'info'])
    const origin = await p.listening
    const health = (await (await fetch(`${origin}/_tessera/health`)).json()) as { status: string; policy: string; running: boolean }
    assert.equal(health.policy, 'predictive')
    assert.equal(health.running, true)
    // Probes run on their own timer in the real process.
    for (let i = 0; ; i++) {
      const s = (await (await fetch(`${origin}/_tessera/durability`)).json()) as { backends: { lastProbe: { ok: boolean } | null }[] }
      if (s.backends.every((b) => b.lastProbe?.ok === true)) break
      if (i > 400) assert.fail('hang guard: no probe of every backend')
      await new Promise((r) => setTimeout(r, 25))
    }
    p.child.kill('SIGTERM')
    const result = await p.exited
    assert.equal(result.code, 0, result.stderr)
    const lines = result.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; policy?: string })
    assert.equal(lines.find((l) => l.msg === 'durability engine started')?.policy, 'predictive')
    assert.ok(lines.some((l) => l.msg === 'stopped'))
    assert.deepEqual(JSON.parse(await readFile(join(dataDir, 'meta', 'scrub-ledger.json'), 'utf8')), {})
  })

  test('bad durability options: exit 2, every problem listed', HANG_GUARD, async () => {
    const result = await run(['--data', dataDir, '--durability', 'sometimes', '--repair-rate', 'fast', '--base-path', '/_tessera']).exited
    assert.equal(result.code, 2)
    for (const needle of ['--durability', '--repair-rate', '/_tessera']) assert.ok(result.stderr.includes(needle), `${needle} in:\n${result.stderr}`)
  })
})
