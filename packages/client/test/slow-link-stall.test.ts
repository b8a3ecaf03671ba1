// A slow link that keeps moving is not a stall — with PATCH bodies larger than what the link moves
// in `stallTimeoutMs`. Through a real fault-proxy process capped at 8 Mbit/s (1 MB/s) up, to the
// real gateway, nothing injected: every byte keeps flowing, so no attempt should be declared
// stalled, and nothing should be sent twice.
//
// The Node transport re-arms its progress timer when the kernel socket accepts a body slice; after
// the last slice, what is still buffered between client and server (the socket's send buffer,
// autotuned to MiBs; here also the proxy's queue) drains at the link rate with nothing to see. So
// once the body is taken the timer allows `stallTimeoutMs` + min(body, 4 MiB) at
// `minBodyBytesPerSecond` (64 KiB/s) for the answer. Before that allowance: 7 false stalls here
// and 2.4× the file on the wire.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { upload } from '../src/index.js'
import { bytes, download, sha256, startGateway, type Gateway } from './helpers.js'
import { recordEvents } from './helpers/events.js'
import { startProxyProcess, type ProxyProcess } from './helpers/fault-proxy-process.js'

const MiB = 1024 * 1024

let gw: Gateway
let proxy: ProxyProcess | undefined
before(async () => {
  gw = await startGateway()
})
after(async () => {
  await proxy?.stop()
  await gw.stop()
})

test(
  'a steady 8 Mbit/s link, 4 MiB PATCH bodies, stallTimeoutMs 2000: no attempt is declared stalled and no byte is sent twice',
  { timeout: 60_000 },
  async (t) => {
    proxy = await startProxyProcess(401, [{ name: 'slow', upstream: new URL(gw.url).origin, bandwidth: [{ bitsPerSecond: 8_000_000, durationMs: 600_000 }], bandwidthDirection: 'upload' }])
    const data = bytes(8 * MiB, 401)
    const u = upload(data, {
      endpoints: [proxy.endpoints[0]!],
      stateStore: null,
      hedging: false,
      minPartitionBytes: 4 * MiB,
      initialPartitionBytes: 4 * MiB,
      maxPartitionBytes: 4 * MiB,
      chunkBytes: 4 * MiB,
      stallTimeoutMs: 2000,
      retryDelaysMs: [50, 100, 200, 400, 800],
    })
    const ev = recordEvents(u)
    const result = await u.done
    // The upload completes, byte-identical…
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
    const done = ev.done[0]!
    t.diagnostic(`stalls ${ev.stall.length}, failed attempts ${ev['attempt-failed'].length}, bytes sent ${done.bytesSent} for ${data.length}`)
    // …with no false stall and nothing sent twice.
    assert.deepEqual(ev.stall, [], 'a link moving 1 MB/s throughout was declared stalled')
    assert.deepEqual(ev['attempt-failed'], [])
    assert.equal(done.extraBytes, 0, 'bytes were sent twice')
  },
)
