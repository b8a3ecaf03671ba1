// Issue 3 "Tests": a real fault-proxy *process* (tools/fault-proxy CLI) between the client and one
// real gateway child process. Three endpoints through the proxy, one of them faulty — stalls
// mid-body, resets, a trickle, 503s — and one endpoint alone with stalls: every upload completes,
// byte-identical on download, and the events show the fault was met. The test timeouts are hang
// guards only; nothing asserts a duration.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { upload, type UploadOptions } from '../src/index.js'
import { bytes, download, sha256, startGateway, type Gateway } from './helpers.js'
import { recordEvents, type Recorded } from './helpers/events.js'
import { startProxyProcess, type ProxyEndpointConfig, type ProxyProcess } from './helpers/fault-proxy-process.js'

const MiB = 1024 * 1024
/** Faults fire only inside PATCH bodies: OPTIONS/POST/HEAD/final are far shorter than this. */
const MID_BODY = { min: 64 * 1024, max: 192 * 1024 }

describe('uploads through a fault-proxy process, one of three endpoints faulty', () => {
  let gw: Gateway
  const running = new Set<ProxyProcess>()
  before(async () => {
    gw = await startGateway()
  })
  after(async () => {
    for (const p of running) await p.stop()
    await gw.stop()
  })

  const upstream = (): string => new URL(gw.url).origin
  async function proxy(seed: number, faulty: Record<string, unknown>, count = 3): Promise<ProxyProcess> {
    const endpoints: ProxyEndpointConfig[] = [{ name: 'faulty', upstream: upstream(), ...faulty }]
    for (let i = 1; i < count; i++) endpoints.push({ name: `good-${i}`, upstream: upstream() })
    const p = await startProxyProcess(seed, endpoints)
    running.add(p)
    return p
  }
  async function stop(p: ProxyProcess): Promise<NonNullable<Awaited<ReturnType<ProxyProcess['stop']>>['stats']>> {
    running.delete(p)
    const { code, stats } = await p.stop()
    assert.equal(code, 0, 'the proxy exits 0 on SIGTERM')
    assert.ok(stats, 'the proxy printed its final stats line')
    return stats
  }
  const options = (endpoints: readonly string[], extra: Partial<UploadOptions> = {}): UploadOptions => ({
    endpoints: [...endpoints],
    stateStore: null,
    // One PATCH per partition against the gateway (streamed, digest-verified): 256 KiB partitions
    // give every fault as many rolls as there are PATCHes.
    minPartitionBytes: 256 * 1024,
    initialPartitionBytes: 256 * 1024,
    maxPartitionBytes: 256 * 1024,
    // Backstop for what hedging does not catch; far below the hang guard.
    stallTimeoutMs: 2000,
    retryDelaysMs: [50, 100, 200, 400, 800, 1000, 1000, 1000],
    ...extra,
  })
  async function run(endpoints: readonly string[], data: Buffer, extra: Partial<UploadOptions> = {}): Promise<Recorded> {
    const u = upload(data, options(endpoints, extra))
    const ev = recordEvents(u)
    const result = await u.done
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    // Downloaded from the gateway itself: the faulty endpoint would stall or reset the GET too.
    const direct = new URL(new URL(result.url).pathname, gw.url).href
    assert.deepEqual(await download(direct), { sha256: sha256(data), size: data.length })
    return ev
  }
  /** Events of attempts on `endpoint` that did not end well: stalls, failures, hedges away, losses. */
  function metAt(ev: Recorded, endpoint: string): { stalls: number; failed: number; hedgedAway: number; lost: number } {
    return {
      stalls: ev.stall.filter((e) => e.endpoint === endpoint).length,
      failed: ev['attempt-failed'].filter((e) => e.endpoint === endpoint).length,
      hedgedAway: ev['hedge-start'].filter((e) => e.fromEndpoint === endpoint).length,
      lost: ev['attempt-lost'].filter((e) => e.endpoint === endpoint).length,
    }
  }

  test('(a) the faulty endpoint stalls every PATCH mid-body: hedges or stall timeouts carry the upload', { timeout: 30_000 }, async (t) => {
    const p = await proxy(101, { stallRate: 1, stallAfterBytes: MID_BODY })
    const ev = await run(p.endpoints, bytes(8 * MiB, 201))
    const met = metAt(ev, p.endpoints[0]!)
    const stats = await stop(p)
    assert.ok(stats[0]!.faults.stall >= 1, JSON.stringify(stats[0]))
    assert.ok(met.stalls + met.hedgedAway >= 1, `a stall or a hedge away from the stalled endpoint: ${JSON.stringify(met)}`)
    t.diagnostic(`stalls injected ${stats[0]!.faults.stall}; client: ${JSON.stringify(met)}`)
  })

  test('(b) the faulty endpoint resets every PATCH mid-body: failed attempts are retried elsewhere', { timeout: 30_000 }, async (t) => {
    const p = await proxy(102, { resetRate: 1, resetAfterBytes: MID_BODY })
    const ev = await run(p.endpoints, bytes(8 * MiB, 202))
    const met = metAt(ev, p.endpoints[0]!)
    const stats = await stop(p)
    assert.ok(stats[0]!.faults.reset >= 1, JSON.stringify(stats[0]))
    const failed = ev['attempt-failed'].filter((e) => e.endpoint === p.endpoints[0])
    assert.ok(failed.length >= 1 && failed.every((e) => e.code === 'CLIENT_ERR_NETWORK'), JSON.stringify(failed))
    t.diagnostic(`resets injected ${stats[0]!.faults.reset}; client: ${JSON.stringify(met)}`)
  })

  test('(c) the faulty endpoint is a trickle (2 Mbit/s up): hedges move its partitions to the fast endpoints', { timeout: 45_000 }, async (t) => {
    const p = await proxy(103, { bandwidth: [{ bitsPerSecond: 2_000_000, durationMs: 600_000 }], bandwidthDirection: 'upload' })
    const ev = await run(p.endpoints, bytes(8 * MiB, 203), { hedgeBudget: 0.5 })
    const met = metAt(ev, p.endpoints[0]!)
    const stats = await stop(p)
    assert.ok(met.hedgedAway >= 1, `a hedge away from the slow endpoint: ${JSON.stringify(met)}`)
    t.diagnostic(`slow endpoint took ${stats[0]!.bytesUp} B up; client: ${JSON.stringify(met)}; won by hedges ${ev.done[0]!.hedgesWon}`)
  })

  test('(d) the faulty endpoint answers 503 to half its requests: failed attempts are retried', { timeout: 30_000 }, async (t) => {
    const p = await proxy(104, { statusRate: 0.5, status: 503 })
    const ev = await run(p.endpoints, bytes(8 * MiB, 204))
    const met = metAt(ev, p.endpoints[0]!)
    const stats = await stop(p)
    assert.ok(stats[0]!.faults.status >= 1, JSON.stringify(stats[0]))
    const failed = ev['attempt-failed'].filter((e) => e.status === 503)
    assert.ok(failed.length >= 1 && failed.every((e) => e.endpoint === p.endpoints[0]), JSON.stringify(ev['attempt-failed']))
    t.diagnostic(`503s injected ${stats[0]!.faults.status}; client: ${JSON.stringify(met)}`)
  })

  test('no hedge budget and a stall timeout of a minute: attempts on the stalling endpoint are abandoned by the model and resumed elsewhere', { timeout: 45_000 }, async (t) => {
    const p = await proxy(106, { stallRate: 1, stallAfterBytes: MID_BODY })
    const ev = await run(p.endpoints, bytes(2 * MiB, 206), { hedgeBudget: 0, stallTimeoutMs: 60_000 })
    const stats = await stop(p)
    assert.ok(stats[0]!.faults.stall >= 1, JSON.stringify(stats[0]))
    assert.equal(ev['hedge-start'].length, 0)
    assert.ok(ev.stall.length >= 1, 'a stall was met')
    for (const s of ev.stall) {
      assert.equal(s.by, 'model', JSON.stringify(s))
      assert.ok(s.dead! >= 0.99 && s.silentMs! < 60_000, JSON.stringify(s))
    }
    // The abandoned partitions went on from the faulty endpoint's offset on the next endpoint.
    const moved = ev['attempt-start'].filter((s) => s.attempt > 0)
    assert.ok(moved.length >= 1 && moved.every((s) => s.endpoint !== p.endpoints[0]), JSON.stringify(moved))
    t.diagnostic(`stalls ${ev.stall.length}, silent before abandonment: ${ev.stall.map((s) => s.silentMs).join(', ')} ms`)
  })

  test('one endpoint alone, stalling once per MiB it carries, no hedging: completes through stall timeouts and retries', { timeout: 45_000 }, async (t) => {
    // By bytes, not dice: whatever the transport's connection reuse, the 4 MiB meet about four stalls.
    const p = await proxy(105, { stallEveryBytes: MiB }, 1)
    const ev = await run(p.endpoints, bytes(4 * MiB, 205), { hedging: false, stallTimeoutMs: 1000 })
    const stats = await stop(p)
    assert.ok(stats[0]!.faults.stall >= 1, JSON.stringify(stats[0]))
    assert.ok(ev.stall.length >= 1, 'the stall timeout fired')
    const stalled = ev['attempt-failed'].filter((e) => e.code === 'CLIENT_ERR_STALLED')
    assert.ok(stalled.length >= 1 && stalled.every((e) => e.willRetry), JSON.stringify(stalled))
    t.diagnostic(`stalls injected ${stats[0]!.faults.stall}; stall timeouts ${ev.stall.length}`)
  })
})
