// A slow link that keeps moving is not a stall — with PATCH bodies larger than what the link moves
// in `stallTimeoutMs`. Through a real fault-proxy process capped at 8 Mbit/s (1 MB/s) up, to the
// real gateway, nothing injected: every byte keeps flowing, so no attempt should be declared
// stalled, and nothing should be sent twice.
//
// TODO (product bug, reported): the Node transport (src/node/undici-transport.ts, `progress()` and
// `arm()`) re-arms the progress timer when the *kernel socket* accepts a body slice. After the
// last slice, everything still buffered between the client and the server (the socket's send
// buffer, autotuned to MiBs; on this path also the proxy's queue and receive buffer) drains at the
// link rate with no event the client can see, and the timer allows only `stallTimeoutMs` for that
// and the answer. When buffered bytes > stallTimeoutMs × rate, a healthy request is aborted as
// CLIENT_ERR_STALLED and its tail re-sent: here 7 false stalls and 2.4× the file on the wire; with
// the defaults (15 s, 1–2 MiB partitions, 4 in flight) a 2 Mbit/s uplink saw 4 false stalls and
// 72 % extra bytes. The browser transport already allows `stallTimeoutMs` + body at
// `minBodyBytesPerSecond` while a body is out; the Node one has no such allowance.
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
  { timeout: 60_000, todo: 'false CLIENT_ERR_STALLED on a slow healthy link: the Node progress timer gives buffered bytes no time to drain (see the file comment)' },
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
    // What must hold whatever the bug: the upload completes, byte-identical.
    assert.equal(result.sha256, sha256(data))
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
    const done = ev.done[0]!
    t.diagnostic(`stalls ${ev.stall.length}, failed attempts ${ev['attempt-failed'].length}, bytes sent ${done.bytesSent} for ${data.length}`)
    // What the bug breaks.
    assert.deepEqual(ev.stall, [], 'a link moving 1 MB/s throughout was declared stalled')
    assert.deepEqual(ev['attempt-failed'], [])
    assert.equal(done.extraBytes, 0, 'bytes were sent twice')
  },
)
