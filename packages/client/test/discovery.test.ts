// Discovery: an endpoint that fails its first OPTIONS is left out of the upload at once
// (`endpoint-skipped`), so the upload does not wait on its retries; only when no endpoint answers
// are the retries kept. Real gateway child process, a real closed port; nothing asserts a duration.
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { TcpRelay, closedPort } from '@tessera/fault-proxy'
import { ClientError, UploadSession, upload } from '../src/index.js'
import { bytes, download, sha256, startGateway, type Gateway } from './helpers.js'
import { recordEvents } from './helpers/events.js'
import { countingTransport } from './helpers/fault-proxy.js'

const MiB = 1024 * 1024

describe('discovery', () => {
  let gw: Gateway
  before(async () => {
    gw = await startGateway()
  })
  after(async () => {
    await gw.stop()
  })

  test('endpoints [up, up, closed port]: the closed one is skipped after one OPTIONS, the upload starts without its retries and completes identical', { timeout: 30_000 }, async () => {
    const dead = `http://127.0.0.1:${await closedPort()}/files`
    const up2 = gw.url.replace('127.0.0.1', 'localhost')
    const counting = countingTransport()
    const data = bytes(3 * MiB, 31)
    // Retry delays long enough that waiting on them could not go unnoticed by the order of events.
    const u = upload(data, { endpoints: [gw.url, up2, dead], stateStore: null, transport: counting.transport, retryDelaysMs: [60_000], minPartitionBytes: 256 * 1024, initialPartitionBytes: MiB })
    const order: string[] = []
    for (const name of ['endpoint-skipped', 'capabilities', 'partition', 'attempt-start', 'done'] as const) u.on(name, () => order.push(name))
    const ev = recordEvents(u)
    const result = await u.done
    await counting.transport.close()

    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
    assert.equal(ev['endpoint-skipped'].length, 1)
    const skipped = ev['endpoint-skipped'][0]!
    assert.equal(skipped.endpoint, dead)
    assert.equal(skipped.code, 'CLIENT_ERR_UNREACHABLE')
    // One OPTIONS to the dead endpoint, none of its retries, and no other request to it.
    assert.deepEqual(counting.requests.filter((r) => r.url.startsWith(dead.slice(0, -'/files'.length))).map((r) => r.method), ['OPTIONS'])
    // Skipped before anything was cut or sent; the used endpoints are the two that answered.
    assert.ok(order.indexOf('endpoint-skipped') < order.indexOf('partition'), order.join(','))
    assert.deepEqual(ev.capabilities.map((c) => c.endpoint), [gw.url, up2])
    assert.ok(ev['attempt-start'].length >= 1 && ev['attempt-start'].every((a) => a.endpoint !== dead))
    assert.ok(ev['attempt-failed'].every((a) => a.endpoint !== dead))
  })

  test('an UploadSession: the next upload asks no OPTIONS and starts from the models learned; an endpoint that failed an attempt is asked again', { timeout: 30_000 }, async () => {
    const relay = await TcpRelay.start(gw.url)
    const viaRelay = `http://127.0.0.1:${relay.port}/files`
    const session = new UploadSession()
    const counting = countingTransport()
    const options = { endpoints: [gw.url, viaRelay], stateStore: null, transport: counting.transport, session, retryDelaysMs: [10, 20, 50], minPartitionBytes: 256 * 1024, initialPartitionBytes: 512 * 1024 }
    const options_ = (): number => counting.requests.filter((r) => r.method === 'OPTIONS').length
    try {
      const data = bytes(2 * MiB, 34)
      const first = await upload(data, options).done
      assert.equal(options_(), 2, 'the first upload of the session discovers both endpoints')
      const learned = session.endpointModels()
      assert.deepEqual([...learned.keys()].sort(), [gw.url, viaRelay].sort())
      assert.ok([...learned.values()].every((m) => m.healthyGapMs !== undefined), 'both endpoints have shown a healthy attempt')

      const second = upload(data, options)
      const ev = recordEvents(second)
      const result = await second.done
      assert.equal(options_(), 2, 'the second upload asked no OPTIONS')
      assert.deepEqual(ev.capabilities.map((c) => c.endpoint), [gw.url, viaRelay], 'and still reports what the endpoints can do')
      assert.ok(session.endpointModels().get(gw.url)!.throughput.toJSON().lastObservedMs! > learned.get(gw.url)!.throughput.toJSON().lastObservedMs!, 'it fed the same models')
      for (const r of [first, result]) assert.deepEqual(await download(r.url), { sha256: sha256(data), size: data.length })

      // The relay's endpoint goes away: the next upload's attempts there fail and move to the other
      // endpoint; the session forgets it, so the upload after that asks both again and skips it.
      await relay.cut()
      const third = await upload(data, options).done
      assert.deepEqual(await download(third.url), { sha256: sha256(data), size: data.length })
      assert.equal(options_(), 2, 'the third upload trusted what the session knew')
      const fourth = upload(data, options)
      const ev4 = recordEvents(fourth)
      await fourth.done
      assert.equal(options_(), 4, 'the fourth asked both endpoints again')
      assert.deepEqual(ev4['endpoint-skipped'].map((e) => e.endpoint), [viaRelay])
    } finally {
      await relay.cut()
      await counting.transport.close()
    }
  })

  test('when no endpoint answers, the retries are kept and the first endpoint\'s error rejects', { timeout: 30_000 }, async () => {
    const a = `http://127.0.0.1:${await closedPort()}/files`
    const b = `http://127.0.0.1:${await closedPort()}/files`
    const counting = countingTransport()
    const u = upload(bytes(10), { endpoints: [a, b], stateStore: null, transport: counting.transport, retryDelaysMs: [10, 20] })
    const ev = recordEvents(u)
    await assert.rejects(u.done, (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_UNREACHABLE' && err.message.includes(a.slice(0, -'/files'.length)))
    await counting.transport.close()
    // First try + two retries on each.
    assert.equal(counting.requests.filter((r) => r.method === 'OPTIONS' && r.url === a).length, 3)
    assert.equal(counting.requests.filter((r) => r.method === 'OPTIONS' && r.url === b).length, 3)
    assert.equal(ev['endpoint-skipped'].length, 0)
  })

  test('an endpoint that accepts the connection and never answers is left out once the others answered (no stall timeout waited)', { timeout: 30_000 }, async () => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const silent = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/files`
    try {
      const data = bytes(2 * MiB, 33)
      // A stall timeout far beyond the hang guard: only the discovery grace can end that OPTIONS.
      const u = upload(data, { endpoints: [gw.url, silent], stateStore: null, stallTimeoutMs: 120_000, retryDelaysMs: [60_000] })
      const ev = recordEvents(u)
      const result = await u.done
      assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
      assert.deepEqual(ev['endpoint-skipped'].map((e) => [e.endpoint, e.code]), [[silent, 'CLIENT_ERR_STALLED']])
      assert.deepEqual(ev.capabilities.map((c) => c.endpoint), [gw.url])
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  test('an endpoint that fails its first OPTIONS while another answers later in the round is still skipped; a later answer is not needed', { timeout: 30_000 }, async () => {
    // 503 on OPTIONS from a tiny server: a 5xx is retriable, but one answering endpoint is enough.
    let options = 0
    const server = net.createServer((socket) => {
      socket.once('data', () => {
        options += 1
        socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const sick = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/files`
    try {
      const data = bytes(2 * MiB, 32)
      const u = upload(data, { endpoints: [sick, gw.url], stateStore: null, retryDelaysMs: [60_000] })
      const ev = recordEvents(u)
      const result = await u.done
      assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
      assert.deepEqual(ev['endpoint-skipped'].map((e) => [e.endpoint, e.status]), [[sick, 503]])
      assert.equal(options, 1)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
