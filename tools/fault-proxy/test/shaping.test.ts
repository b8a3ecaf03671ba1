// Latency, the delay line and bandwidth schedules: lower bounds and wide bands, never exact timings.
import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { describe, it } from 'node:test'
import { pattern, send, until, useProxies } from './helpers.js'

describe('shaping', { timeout: 25_000 }, () => {
  const proxies = useProxies()
  const start = proxies.start

  it('latencyMs delays every new connection by at least the delay', async () => {
    const e = await start({ endpoints: [{ upstream: proxies.upstream.url, latencyMs: 150 }] })
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      const reply = await send(`${e.url}/ok`)
      assert.equal(reply.status, 200)
      assert.ok(performance.now() - t0 >= 145, 'connection latency is a lower bound')
    }
    assert.equal(e.stats().faults.latency, 3)
  })

  it('delayMs adds at least twice the one-way delay to a round trip, and keeps the bytes in order', async () => {
    const e = await start({ endpoints: [{ upstream: proxies.upstream.url, delayMs: { min: 40, max: 60 } }] })
    const body = pattern(500_000)
    const t0 = performance.now()
    const reply = await send(`${e.url}/echo`, { method: 'POST', body })
    assert.ok(performance.now() - t0 >= 78)
    assert.ok(reply.body.equals(body), 'jitter never reorders chunks')
  })

  it('a bandwidth cap bounds the bytes per second of an upload (≤ 2× the cap over a 1 s window)', async () => {
    const capBytesPerSecond = 1_000_000
    const e = await start({ endpoints: [{ upstream: proxies.upstream.url, bandwidth: [{ bitsPerSecond: capBytesPerSecond * 8, durationMs: 60_000 }] }] })
    const upload = send(`${e.url}/sink`, { method: 'POST', body: pattern(2_500_000) })
    await new Promise((r) => setTimeout(r, 200)) // past the initial burst
    const b0 = e.stats().bytesUp
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, 1000))
    const rate = ((e.stats().bytesUp - b0) * 1000) / (performance.now() - t0)
    assert.ok(rate <= 2 * capBytesPerSecond, `${rate} B/s over a ${capBytesPerSecond} B/s cap`)
    assert.ok(rate >= 0.1 * capBytesPerSecond, `${rate} B/s: the cap should not stop the flow`)
    assert.equal(JSON.parse((await upload).body.toString()).bytes, 2_500_000)
  })

  it('follows a schedule (fast → slow → fast) and reports the phase; the cap is shared by all connections', async () => {
    const slow = 4_000_000 // bit/s = 500 kB/s
    const bodies = [pattern(1_500_000), pattern(1_500_000)]
    const e = await start({
      endpoints: [
        {
          upstream: proxies.upstream.url,
          bandwidthDirection: 'upload',
          bandwidth: [
            { bitsPerSecond: 800e6, durationMs: 200 },
            { bitsPerSecond: slow, durationMs: 2000 },
            { bitsPerSecond: 800e6, durationMs: 60_000 },
          ],
        },
      ],
    })
    assert.equal(e.stats().bandwidth.phase, 0)
    await until(() => e.stats().bandwidth.phase === 1, 2000, 'slow phase')
    // Two connections at once during the slow phase share one bucket.
    const uploads = bodies.map((body) => send(`${e.url}/sink`, { method: 'POST', body }))
    await new Promise((r) => setTimeout(r, 150))
    const b0 = e.stats().bytesUp
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, 700))
    const rate = ((e.stats().bytesUp - b0) * 1000) / (performance.now() - t0)
    if (e.stats().bandwidth.phase === 1) assert.ok(rate <= (2 * slow) / 8, `${rate} B/s over a shared ${slow / 8} B/s cap`)
    else assert.fail('the machine was too slow to measure within the slow phase')
    await until(() => e.stats().bandwidth.phase === 2, 3000, 'fast phase again')
    for (const u of uploads) assert.equal(JSON.parse((await u).body.toString()).bytes, 1_500_000)
  })

  it("bandwidthDirection 'upload' leaves downloads alone", async () => {
    const e = await start({ endpoints: [{ upstream: proxies.upstream.url, bandwidthDirection: 'upload', bandwidth: [{ bitsPerSecond: 8e6, durationMs: 60_000 }] }] })
    const t0 = performance.now()
    const reply = await send(`${e.url}/bytes?n=6000000`)
    assert.equal(reply.body.length, 6_000_000)
    // Capped, 6 MB at 1 MB/s would take ≥ 5.9 s; uncapped it takes milliseconds on loopback.
    assert.ok(performance.now() - t0 < 3000)
  })
})
