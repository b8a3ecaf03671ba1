// Through the proxy to the real gateway (a child process): a raw tus upload survives an injected
// reset mid-PATCH and an injected 503, resuming from the offset the gateway reports.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { startFaultProxy, type FaultProxy } from '../src/index.js'
import { send } from './helpers.js'

const GATEWAY_MAIN = fileURLToPath(new URL('../../../apps/gateway/dist/main.js', import.meta.url))
const TUS = { 'Tus-Resumable': '1.0.0' }
const MiB = 1024 * 1024

async function startGateway(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [GATEWAY_MAIN, '--port', '0', '--data', dataDir, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway did not start within 20 s')), 20_000)
    lines.on('line', (l) => {
      const m = /^Tessera gateway listening: (http:\/\/\S+)$/.exec(l)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', (code) => reject(new Error(`gateway exited ${code} before listening`)))
  })
  return { child, url }
}

describe('through the proxy to the real gateway', { timeout: 30_000 }, () => {
  let dir: string
  let gateway: { child: ChildProcess; url: string }
  let proxy: FaultProxy
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fault-proxy-gw-'))
    gateway = await startGateway(dir)
    proxy = await startFaultProxy({ seed: 5, endpoints: [{ name: 'gw', upstream: gateway.url }] })
  })
  after(async () => {
    await proxy?.close()
    if (gateway !== undefined && gateway.child.exitCode === null) {
      const exited = once(gateway.child, 'exit')
      gateway.child.kill('SIGTERM')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  })

  it('a tus upload survives a reset mid-PATCH and a 503, byte for byte', async () => {
    const e = proxy.endpoint('gw')
    const files = `${e.url}${new URL(gateway.url).pathname}`
    const data = randomBytes(3 * MiB)

    const created = await send(files, { method: 'POST', headers: { ...TUS, 'Upload-Length': data.length }, timeoutMs: 10_000 })
    assert.equal(created.status, 201)
    const uploadUrl = new URL(new URL(String(created.headers.location), files).pathname, e.url).href
    const patch = (offset: number) =>
      send(uploadUrl, {
        method: 'PATCH',
        headers: { ...TUS, 'Upload-Offset': offset, 'Content-Type': 'application/offset+octet-stream' },
        body: data.subarray(offset),
        timeoutMs: 10_000,
      })
    const head = async () => {
      const r = await send(uploadUrl, { method: 'HEAD', headers: TUS, timeoutMs: 10_000 })
      return { status: r.status, offset: Number(r.headers['upload-offset']) }
    }

    e.setFaults({ resetRate: 1, resetAfterBytes: Math.round(1.5 * MiB) })
    const err = await patch(0).then(
      () => assert.fail('the reset PATCH must fail'),
      (x: NodeJS.ErrnoException) => x,
    )
    assert.ok(['ECONNRESET', 'EPIPE'].includes(err.code ?? ''), `client error ${err.code}`)

    e.setFaults({ resetRate: 0, statusRate: 1 })
    assert.equal((await head()).status, 503)

    e.setFaults({ statusRate: 0 })
    // The gateway may still be unwinding the reset request's lock: poll HEAD until it answers.
    let at = await head()
    for (let i = 0; at.status !== 200 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100))
      at = await head()
    }
    assert.equal(at.status, 200)
    assert.ok(at.offset >= 0 && at.offset < data.length, `offset after the reset: ${at.offset}`)

    let done = await patch(at.offset)
    for (let i = 0; done.status === 423 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100))
      done = await patch(at.offset)
    }
    assert.equal(done.status, 204)
    assert.equal(Number(done.headers['upload-offset']), data.length)

    const got = await send(uploadUrl, { timeoutMs: 10_000 })
    assert.equal(got.status, 200)
    assert.equal(createHash('sha256').update(got.body).digest('hex'), createHash('sha256').update(data).digest('hex'))
    const s = e.stats()
    assert.equal(s.faults.reset, 1)
    assert.equal(s.faults.status, 1)
  })
})
