// With no faults the proxy is invisible: bytes identical both ways, requests framed on keep-alive.
import assert from 'node:assert/strict'
import { Agent, request } from 'node:http'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { startFaultProxy, type FaultProxy } from '../src/index.js'
import { pattern, randomBytes, send, startUpstream, type Upstream } from './helpers.js'

describe('pass-through', { timeout: 20_000 }, () => {
  let upstream: Upstream
  let proxy: FaultProxy
  before(async () => {
    upstream = await startUpstream()
    proxy = await startFaultProxy({ seed: 1, endpoints: [{ upstream: upstream.url }] })
  })
  after(async () => {
    await proxy.close()
    await upstream.close()
  })

  it('forwards a 4 MiB body and its echo byte for byte', async () => {
    const body = randomBytes(4 * 1024 * 1024)
    const before = proxy.endpoints[0]!.stats()
    const reply = await send(`${proxy.endpoints[0]!.url}/echo`, { method: 'POST', body })
    assert.equal(reply.status, 200)
    assert.ok(reply.body.equals(body))
    const after = proxy.endpoints[0]!.stats()
    assert.ok(after.bytesUp - before.bytesUp > body.length)
    assert.ok(after.bytesDown - before.bytesDown > body.length)
    assert.deepEqual(after.faults, { stall: 0, reset: 0, status: 0, latency: 0 })
  })

  it('forwards a download byte for byte', async () => {
    const reply = await send(`${proxy.endpoints[0]!.url}/bytes?n=3000000`)
    assert.ok(reply.body.equals(pattern(3_000_000)))
  })

  it('counts each request of a keep-alive connection, chunked bodies included', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const e = proxy.endpoints[0]!
    const before = e.stats()
    try {
      for (let i = 0; i < 3; i++) {
        const reply = await send(`${e.url}/sink`, { method: 'POST', body: pattern(100_000 + i), agent })
        assert.equal(JSON.parse(reply.body.toString()).bytes, 100_000 + i)
      }
      // Chunked: no content-length, the body goes as two chunks.
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = request(`${e.url}/sink`, { method: 'POST', agent }, (res) => {
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () => resolve(JSON.parse(text).bytes))
        })
        req.on('error', reject)
        req.write(pattern(5000))
        req.end(pattern(7000))
      })
      assert.equal(chunked, 12_000)
      await send(`${e.url}/ok`, { agent })
    } finally {
      agent.destroy()
    }
    const after = e.stats()
    assert.equal(after.connections - before.connections, 1)
    assert.equal(after.requests - before.requests, 5)
  })

  it('forwards non-HTTP bytes unchanged (one opaque request)', async () => {
    const e = proxy.endpoints[0]!
    const socket = connect(e.port, '127.0.0.1')
    const got: Buffer[] = []
    socket.on('data', (c: Buffer) => got.push(c))
    const closed = new Promise((r) => socket.on('close', r))
    socket.end(Buffer.from('\x16\x03\x01 not http at all\r\n\r\n'))
    await closed
    // The upstream (an HTTP server) answers 400 to garbage: what matters is that it got the bytes and we got its answer.
    assert.match(Buffer.concat(got).toString('latin1'), /^HTTP\/1\.1 400/)
  })
})
