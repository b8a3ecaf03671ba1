// Where splitting is impossible it never happens: servers that do not advertise
// creation-defer-length, and sequential mode (no concatenation). The gateway child process is
// real; what the servers advertise is changed at the transport port (the OPTIONS answer's
// Tus-Extension loses an extension) — the only fake, at the HTTP boundary. The degrading
// fault-proxy process makes a split due wherever one is possible.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { upload, type HttpRequest, type HttpTransport } from '../src/index.js'
import { NodeHttpTransport } from '../src/node/node-http-transport.js'
import { bytes, download, sha256, startGateway, type Gateway } from './helpers.js'
import { recordEvents } from './helpers/events.js'
import { startProxyProcess, type ProxyProcess } from './helpers/fault-proxy-process.js'

const MiB = 1024 * 1024
const DEGRADING = { bandwidth: [{ bitsPerSecond: 200_000_000, durationMs: 100 }, { bitsPerSecond: 2_000_000, durationMs: 600_000 }], bandwidthDirection: 'upload' }

/** A transport whose OPTIONS answers lack `extension` in Tus-Extension; records every request. */
function withoutExtension(extension: string): { transport: HttpTransport; requests: HttpRequest[] } {
  const inner = new NodeHttpTransport()
  const requests: HttpRequest[] = []
  return {
    requests,
    transport: {
      streamsBodies: inner.streamsBodies,
      async request(req: HttpRequest) {
        requests.push(req)
        const res = await inner.request(req)
        if (req.method !== 'OPTIONS' || res.headers['tus-extension'] === undefined) return res
        const list = res.headers['tus-extension'].split(',').map((s) => s.trim()).filter((e) => e !== extension)
        return { ...res, headers: { ...res.headers, 'tus-extension': list.join(',') } }
      },
      close: () => inner.close(),
    },
  }
}

describe('no splits where they are impossible', () => {
  let gw: Gateway
  let proxy: ProxyProcess
  before(async () => {
    gw = await startGateway()
    proxy = await startProxyProcess(501, [{ name: 'degrading', upstream: new URL(gw.url).origin, ...DEGRADING }])
  })
  after(async () => {
    await proxy.stop()
    await gw.stop()
  })
  const direct = (url: string): string => new URL(new URL(url).pathname, gw.url).href
  const base = { stateStore: null, minPartitionBytes: 256 * 1024, initialPartitionBytes: 1 * MiB, maxPartitionBytes: 1 * MiB, targetPartitionMs: 500, hedging: false } as const

  test('servers without creation-defer-length: partitions are created with their length and digest, and none is split', { timeout: 60_000 }, async () => {
    const { transport, requests } = withoutExtension('creation-defer-length')
    const data = bytes(4 * MiB, 501)
    const u = upload(data, { ...base, endpoints: [proxy.endpoints[0]!, gw.url], transport })
    const ev = recordEvents(u)
    const result = await u.done
    await transport.close()
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(direct(result.url)), { sha256: sha256(data), size: data.length })
    assert.equal(ev['partition-split'].length, 0)
    assert.ok(ev['attempt-won'].some((w) => w.endpoint === proxy.endpoints[0]), 'a partition went through the slow endpoint')
    const posts = requests.filter((r) => r.method === 'POST' && r.headers['upload-concat'] === 'partial')
    assert.ok(posts.length >= 2 && posts.every((r) => r.headers['upload-defer-length'] === undefined && r.headers['upload-length'] !== undefined))
    assert.ok(requests.every((r) => r.headers['tessera-sha256'] === undefined), 'no Tessera-Sha256 header')
  })

  test('sequential mode (no concatenation): one upload, never split', { timeout: 60_000 }, async () => {
    const { transport, requests } = withoutExtension('concatenation')
    const data = bytes(1 * MiB, 502)
    const u = upload(data, { ...base, endpoints: [proxy.endpoints[0]!], transport, chunkBytes: 256 * 1024 })
    const ev = recordEvents(u)
    const result = await u.done
    await transport.close()
    assert.equal(result.sha256, sha256(data))
    assert.deepEqual(await download(direct(result.url)), { sha256: sha256(data), size: data.length })
    assert.deepEqual(ev.capabilities.map((c) => c.mode), ['sequential'])
    assert.equal(ev['partition-split'].length, 0)
    assert.equal(u.splits, undefined)
    assert.ok(requests.every((r) => r.headers['tessera-sha256'] === undefined && r.headers['upload-defer-length'] === undefined))
  })
})
