// The gateway process itself (dist/main.js, built by `npm run build`): startup line, bad flags,
// SIGTERM — including with an upload in flight.
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { TUS, bytes, parseRawResponse, stalledPatch } from './helpers/gateway.js'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const HANG_GUARD = { timeout: 30_000 }

interface Running {
  readonly child: ChildProcessWithoutNullStreams
  readonly endpoint: string
  readonly port: number
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
}

function run(args: string[]): Running['exited'] & { child: ChildProcessWithoutNullStreams } {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => {
      // Let the pipes drain.
      setImmediate(() => resolve({ code, signal, stdout, stderr }))
    })
  })
  return Object.assign(exited, { child })
}

async function start(dataDir: string, extra: string[] = []): Promise<Running> {
  const exited = run(['--port', '0', '--data', dataDir, '--log-level', 'silent', ...extra])
  const { child } = exited
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    const onData = (c: Buffer): void => {
      out += c.toString()
      const match = /Tessera gateway listening: (http:\/\/127\.0\.0\.1:\d+\/files)\n/.exec(out)
      if (match) {
        child.stdout.off('data', onData)
        resolve(match[1]!)
      }
    }
    child.stdout.on('data', onData)
    void exited.then((r) => reject(new Error(`exited ${r.code} before listening: ${r.stderr}`)))
  })
  return { child, endpoint: line, port: Number(new URL(line).port), exited }
}

describe('dist/main.js', () => {
  // Fails, not skips: a missing build would otherwise pass the suite with these checks unrun.
  before(() => assert.ok(existsSync(MAIN), 'dist/main.js is not built: run `npm run build` first'))
  let dataDir: string
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-main-'))
  })
  after(() => rm(dataDir, { recursive: true, force: true }))

  test('prints the listening line, serves tus, and exits 0 on SIGTERM', HANG_GUARD, async () => {
    const gw = await start(join(dataDir, 'a'))
    assert.notEqual(gw.port, 0)
    const options = await fetch(gw.endpoint, { method: 'OPTIONS' })
    assert.equal(options.status, 204)
    assert.equal(options.headers.get('tus-version'), '1.0.0')
    const created = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '3' } })
    assert.equal(created.status, 201)
    gw.child.kill('SIGTERM')
    const result = await gw.exited
    assert.equal(result.code, 0)
    assert.equal(result.signal, null)
    // --auth none (the default) says so, once.
    assert.equal(result.stderr.match(/warning: --auth none: anyone who can reach this port/g)?.length, 1, result.stderr)
  })

  test('--auth jwt: no open-gateway warning; a token is required', HANG_GUARD, async () => {
    const gw = await start(join(dataDir, 'jwt'), ['--auth', 'jwt', '--jwt-secret', 'x'.repeat(32)])
    const created = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '3' } })
    assert.equal(created.status, 401)
    gw.child.kill('SIGTERM')
    const result = await gw.exited
    assert.equal(result.code, 0)
    assert.doesNotMatch(result.stderr, /--auth none/)
  })

  test('SIGTERM with a PATCH in flight: the PATCH is answered with what was committed, then exit 0', HANG_GUARD, async () => {
    const gw = await start(join(dataDir, 'b'), ['--block-size', '4KiB'])
    const created = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '50000' } })
    const path = new URL(created.headers.get('location')!).pathname
    const stalled = await stalledPatch(gw.port, path, 0, 50_000, bytes(20_000))
    // Usually lets the process read the bytes first; the exact commit is proven in-process (locking.test.ts).
    await new Promise((r) => setTimeout(r, 300))
    gw.child.kill('SIGTERM')
    const answer = parseRawResponse(await stalled.response)
    assert.equal(answer.status, 204)
    const offset = Number(answer.headers.get('upload-offset'))
    assert.ok(offset >= 0 && offset <= 20_000, String(offset))
    stalled.socket.destroy()
    assert.equal((await gw.exited).code, 0)

    // A new process on the same data resumes from that offset.
    const again = await start(join(dataDir, 'b'), ['--block-size', '4KiB'])
    try {
      const head = await fetch(`${new URL(again.endpoint).origin}${path}`, { method: 'HEAD', headers: TUS })
      assert.equal(head.status, 200)
      assert.equal(head.headers.get('upload-offset'), String(offset))
    } finally {
      again.child.kill('SIGTERM')
      assert.equal((await again.exited).code, 0)
    }
  })

  test('bad flags: exits non-zero listing every problem, without listening', HANG_GUARD, async () => {
    const result = await run(['--port', 'x', '--data-blocks', '0', '--fsync', 'maybe', '--bogus', '--data', join(dataDir, 'c')])
    assert.notEqual(result.code, 0)
    assert.doesNotMatch(result.stdout, /listening/)
    for (const needle of ['--port', '--data-blocks', '--fsync', '--bogus']) assert.match(result.stderr, new RegExp(needle), needle)
    assert.equal(existsSync(join(dataDir, 'c')), false, 'nothing was created for an invalid configuration')
  })

  test('--help prints usage and exits 0', HANG_GUARD, async () => {
    const result = await run(['--help'])
    assert.equal(result.code, 0)
    assert.match(result.stdout, /--port/)
    assert.match(result.stdout, /TESSERA_PORT/)
  })
})
