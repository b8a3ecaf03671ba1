// Stalls, resets and injected answers, each seen from a real client, and seeded reproducibility.
import assert from 'node:assert/strict'
import { Agent } from 'node:http'
import { describe, it } from 'node:test'
import { pattern, send, startUpstream, until, useProxies } from './helpers.js'

describe('faults', { timeout: 25_000 }, () => {
  const proxies = useProxies()
  const start = proxies.start

  it('a stall hangs the request until the client times out; the proxy keeps the socket open', async () => {
    const e = await start({ endpoints: [{ upstream: proxies.upstream.url, stallRate: 1, stallAfterBytes: 1000 }] })
    let atTimeout: { destroyed: boolean; closedByPeer: boolean } | undefined
    const err = await send(`${e.url}/sink`, {
      method: 'POST',
      body: pattern(64 * 1024),
      timeoutMs: 400,
      onTimeout: (socket, closedByPeer) => (atTimeout = { destroyed: socket.destroyed, closedByPeer }),
    }).then(
      () => assert.fail('a stalled request must not complete'),
      (e: NodeJS.ErrnoException) => e,
    )
    assert.equal(err.code, 'ETIMEDOUT_TEST')
    assert.deepEqual(atTimeout, { destroyed: false, closedByPeer: false }, 'the proxy neither closed nor ended the socket')
    const s = e.stats()
    assert.equal(s.faults.stall, 1)
    assert.equal(s.bytesUp, 1000, 'exactly stallAfterBytes were forwarded')
    assert.deepEqual(e.events().map((x) => [x.kind, x.afterBytes]), [['stall', 1000]])
    // The client gave up and closed: the proxy lets go of the stalled connection.
    await until(() => e.stats().activeConnections === 0 && e.stats().stalledNow === 0, 5000, 'stalled connection released')
  })

  it('stallMs ends a stall: the request completes late but whole', async () => {
    const e = await start({ endpoints: [{ upstream: proxies.upstream.url, stallRate: 1, stallAfterBytes: 5000, stallMs: 200 }] })
    const reply = await send(`${e.url}/sink`, { method: 'POST', body: pattern(100_000), timeoutMs: 5000 })
    assert.equal(JSON.parse(reply.body.toString()).bytes, 100_000)
    assert.equal(e.stats().faults.stall, 1)
    assert.equal(e.stats().stalledNow, 0)
  })

  it('stallEveryBytes: one stall per window of upstream bytes, on whichever request carries it, the same for a seed', async () => {
    const run = async (seed: number): Promise<{ stalls: number; points: number[] }> => {
      const e = await start({ seed, endpoints: [{ upstream: proxies.upstream.url, stallEveryBytes: 100_000, stallMs: 50 }] })
      // 20 requests of 25 KB + headers, one after another: just over 500 KB upstream → windows 0–4
      // stall for sure, window 5 only if its point falls in its first few KB.
      const points: number[] = []
      for (let i = 0; i < 20; i++) {
        const before = e.stats().faults.stall
        await send(`${e.url}/sink`, { method: 'POST', body: pattern(25_000), timeoutMs: 5000 })
        if (e.stats().faults.stall > before) points.push(i)
      }
      const s = e.stats()
      await e.close()
      return { stalls: s.faults.stall, points }
    }
    const a = await run(3)
    assert.ok(a.stalls >= 5 && a.stalls <= 6, `${a.stalls} stalls over 5 windows and a bit`)
    assert.equal(a.points.length, a.stalls, 'each stall held up the request that carried it')
    assert.deepEqual(await run(3), a, 'the same seed stalls the same requests')
  })

  it('a reset reaches the client as ECONNRESET after resetAfterBytes', async () => {
    const e = await start({ endpoints: [{ upstream: proxies.upstream.url, resetRate: 1, resetAfterBytes: 200_000 }] })
    const err = await send(`${e.url}/bytes?n=2000000`, { timeoutMs: 5000 }).then(
      () => assert.fail('a reset request must fail'),
      (e: NodeJS.ErrnoException) => e,
    )
    assert.equal(err.code, 'ECONNRESET')
    const s = e.stats()
    assert.equal(s.faults.reset, 1)
    assert.equal(s.bytesUp + s.bytesDown, 200_000)
    await until(() => e.stats().activeConnections === 0, 2000, 'reset connection gone')
  })

  it('an injected status is what the client sees; the upstream never hears of the request', async () => {
    const e = await start({ endpoints: [{ upstream: proxies.upstream.url, statusRate: 1, status: 503 }] })
    const seenBefore = proxies.upstream.seen.length
    const reply = await send(`${e.url}/sink`, { method: 'POST', body: pattern(300_000), timeoutMs: 5000 })
    assert.equal(reply.status, 503)
    assert.equal(reply.headers['x-fault-proxy'], 'status')
    assert.equal(proxies.upstream.seen.length, seenBefore)
    assert.equal(e.stats().faults.status, 1)
    e.setFaults({ status: 500 })
    assert.equal((await send(`${e.url}/ok`, { timeoutMs: 5000 })).status, 500)
  })

  it('rolls per request on a keep-alive connection: a later request gets the status, earlier ones pass', async () => {
    const e = await start({ seed: 3, endpoints: [{ upstream: proxies.upstream.url, statusRate: 0.5 }] })
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const statuses: number[] = []
    try {
      for (let i = 0; i < 12; i++) statuses.push((await send(`${e.url}/ok`, { agent, timeoutMs: 5000 })).status)
    } finally {
      agent.destroy()
    }
    const events = e.events()
    assert.equal(statuses.filter((s) => s === 503).length, events.length)
    assert.ok(events.some((x) => x.request > 0), `some 503 comes on a reused connection: ${JSON.stringify(events)}`)
    // Each injected answer closes its connection, so connections = 503s (+1 if the last request passed).
    assert.equal(e.stats().connections, events.length + (statuses.at(-1) === 503 ? 0 : 1))
  })

  it("faultsPer 'connection' rolls once per connection", async () => {
    const e = await start({ seed: 3, endpoints: [{ upstream: proxies.upstream.url, statusRate: 0.5, faultsPer: 'connection' }] })
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      for (let i = 0; i < 12; i++) await send(`${e.url}/ok`, { agent, timeoutMs: 5000 })
    } finally {
      agent.destroy()
    }
    assert.ok(e.events().every((x) => x.request === 0))
  })

  it('the same seed gives the same faults for the same connection order; another seed does not', async () => {
    const run = async (seed: number) => {
      const e = await start({
        seed,
        endpoints: [{ upstream: proxies.upstream.url, stallRate: 0.2, resetRate: 0.2, statusRate: 0.2, stallAfterBytes: { min: 0, max: 2000 }, resetAfterBytes: { min: 0, max: 2000 } }],
      })
      const outcomes: string[] = []
      for (let i = 0; i < 24; i++) {
        const r = await send(`${e.url}/bytes?n=10000`, { timeoutMs: 250 }).then(
          (reply) => String(reply.status),
          (err: NodeJS.ErrnoException) => err.code ?? 'error',
        )
        outcomes.push(r)
      }
      return { outcomes, events: e.events().map(({ connection, request, kind, afterBytes }) => ({ connection, request, kind, afterBytes })) }
    }
    const a = await run(42)
    const b = await run(42)
    const c = await run(43)
    assert.deepEqual(b.events, a.events)
    assert.deepEqual(b.outcomes, a.outcomes)
    assert.ok(a.events.length > 0)
    assert.notDeepEqual(c.events, a.events)
  })

  it('an unreachable upstream is a reset for the client and counted', async () => {
    const dead = await startUpstream()
    await dead.close()
    const e = await start({ endpoints: [{ upstream: dead.url }] })
    const err = await send(`${e.url}/ok`, { timeoutMs: 5000 }).then(
      () => assert.fail('must fail'),
      (e: NodeJS.ErrnoException) => e,
    )
    assert.equal(err.code, 'ECONNRESET')
    assert.equal(e.stats().upstreamErrors, 1)
  })
})
