// Hedging end to end: the real gateway (child process) reached through in-test TCP proxies that
// black-hole, hold back or throttle real sockets. Two endpoints = the same gateway through two proxies.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { upload, type Upload, type UploadEventMap, type UploadOptions } from '../src/index.js'
import { bytes, download, sha256, startGateway, type Gateway } from './helpers.js'
import { countingTransport, faultProxy, headStatus, type FaultProxy } from './helpers/fault-proxy.js'

const MiB = 1024 * 1024

/** Records every event of an upload, by name. */
function record(u: Upload): { [K in keyof UploadEventMap]: UploadEventMap[K][] } {
  const names = ['hedge-start', 'attempt-start', 'attempt-won', 'attempt-lost', 'attempt-terminated', 'attempt-failed', 'stall', 'done'] as const
  const out = Object.fromEntries(names.map((n) => [n, []])) as unknown as { [K in keyof UploadEventMap]: UploadEventMap[K][] }
  for (const n of names) u.on(n, ((e: unknown) => void (out[n] as unknown[]).push(e)) as never)
  return out
}

describe('hedging against the gateway', () => {
  let gw: Gateway
  const proxies: FaultProxy[] = []
  before(async () => {
    gw = await startGateway()
  })
  after(async () => {
    for (const p of proxies) await p.close()
    await gw.stop()
  })
  async function proxy(options: Parameters<typeof faultProxy>[1] = {}): Promise<FaultProxy> {
    const p = await faultProxy(gw.port, options)
    proxies.push(p)
    return p
  }
  const base = (endpoints: string[], extra: Partial<UploadOptions> = {}): UploadOptions => ({
    endpoints,
    stateStore: null,
    // Only hedging can rescue a stalled attempt in time: the stall timeout is far away.
    stallTimeoutMs: 60_000,
    minPartitionBytes: MiB,
    initialPartitionBytes: 2 * MiB,
    maxPartitionBytes: 2 * MiB,
    ...extra,
  })

  for (const endpointsCount of [2, 1]) {
    test(`${endpointsCount} endpoint(s), one PATCH black-holed mid-body: a hedge starts long before stallTimeoutMs, wins, the stalled partial is aborted and DELETEd`, { timeout: 30_000 }, async (t) => {
      const sick = await proxy({ stallPatchAfterBytes: 512 * 1024 })
      const endpoints = endpointsCount === 2 ? [sick.url, (await proxy()).url] : [sick.url]
      const data = bytes(8 * MiB, 31 + endpointsCount)
      const started = Date.now()
      // A generous budget: on a loaded machine a false hedge may come first and must not starve the rescue.
      const u = upload(data, base(endpoints, { hedgeBudget: 0.5 }))
      const ev = record(u)
      const result = await u.done
      const elapsed = Date.now() - started
      assert.ok(sick.faulted(), 'the proxy black-holed a PATCH')
      assert.equal(ev.stall.length, 0, 'the stall timeout never fired')
      assert.ok(elapsed < 60_000)

      // The black-holed attempt (usually a primary; on a loaded machine it can be a hedge) lost.
      const victimUrl = `${new URL(sick.url).origin}${sick.victimPath()}`
      const victim = ev['attempt-lost'].find((e) => e.url === victimUrl)
      assert.ok(victim, `${victimUrl} lost: ${JSON.stringify(ev['attempt-lost'])}`)
      assert.equal(victim.endpoint, sick.url)
      const hedge = ev['hedge-start'].find((e) => e.partition === victim.partition)
      assert.ok(hedge, 'a hedge of the stalled partition started')
      assert.ok(hedge.laggard || hedge.risk >= 0.3, `hedged at risk ${hedge.risk}, not as a laggard`)
      if (!victim.hedge) {
        assert.equal(hedge.fromEndpoint, sick.url)
        assert.equal(hedge.toEndpoint, endpoints.length === 2 ? endpoints[1] : sick.url)
        assert.equal(victim.judgedDead, true, 'a loser silent since it was hedged is counted as a failure of its endpoint')
      }
      const won = ev['attempt-won'].find((e) => e.partition === victim.partition)
      assert.ok(won && won.attempt === victim.winner && won.url !== victimUrl)

      // Terminated with DELETE: the gateway answers 404/410 for it now.
      const term = ev['attempt-terminated'].find((e) => e.partition === victim.partition && e.attempt === victim.attempt)
      // 'gone' when the gateway's own reconciliation freed it first (410 TESSERA_ERR_SUPERSEDED).
      assert.ok(term && term.result !== 'failed', JSON.stringify(ev['attempt-terminated']))
      assert.ok([404, 410].includes(await headStatus(victimUrl, gw.url)))

      assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
      assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
      const done = ev.done[0]!
      // Hedge bytes < budget + one partition (a hedge may start while committed bytes are below the budget).
      assert.ok(done.hedgesWon >= 1 && done.hedgeBytes < done.hedgeBudgetBytes + 2 * MiB)
      t.diagnostic(`completed in ${elapsed} ms with a black-holed PATCH (stallTimeoutMs 60000); hedge after risk ${hedge.risk.toFixed(3)} (dead ${hedge.dead.toFixed(3)}); hedges ${done.hedgesStarted}/${done.hedgesWon} won; extra ${done.extraBytes} B = ${(done.extraRatio * 100).toFixed(2)} % of ${done.size}`)
    })
  }

  test('healthy link: hedge bytes stay within the budget and the upload is identical', { timeout: 30_000 }, async (t) => {
    const endpoints = [(await proxy()).url, (await proxy()).url]
    const data = bytes(24 * MiB, 41)
    const counting = countingTransport()
    const u = upload(data, { endpoints, stateStore: null, transport: counting.transport, maxPartitionBytes: 4 * MiB })
    const ev = record(u)
    const result = await u.done
    await counting.transport.close()
    const done = ev.done[0]!
    assert.equal(done.hedgeBudgetBytes, Math.floor(data.length * 0.05))
    // Within the budget, give or take one partition's granularity (≤ 4 MiB here).
    assert.ok(done.hedgeBytes < done.hedgeBudgetBytes + 4 * MiB)
    // No retries on a healthy link: every byte beyond the file is a hedge's or a loser's.
    assert.ok(counting.patched() - data.length < done.hedgeBudgetBytes + 4 * MiB, `extra ${counting.patched() - data.length} > budget ${done.hedgeBudgetBytes} + a partition`)
    for (const h of ev['hedge-start']) assert.ok(h.risk >= 0.3)
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
    t.diagnostic(`healthy: ${done.hedgesStarted} hedges, extra ${(done.extraRatio * 100).toFixed(2)} %`)
  })

  test('every attempt slow and every attempt a candidate (threshold 0): hedge bytes never exceed the budget', { timeout: 40_000 }, async (t) => {
    const endpoints = [(await proxy({ bytesPerSecond: 4 * MiB })).url, (await proxy({ bytesPerSecond: 4 * MiB })).url]
    const data = bytes(12 * MiB, 51)
    const counting = countingTransport()
    const hedgeBudget = 0.2
    const u = upload(data, { ...base(endpoints), maxPartitionBytes: MiB, initialPartitionBytes: MiB, hedgeThreshold: 0, hedgeBudget, hedgeIntervalMs: 50, transport: counting.transport })
    const ev = record(u)
    const result = await u.done
    await counting.transport.close()
    const done = ev.done[0]!
    const budget = Math.floor(data.length * hedgeBudget)
    assert.ok(done.hedgesStarted >= 1, 'hedges were started')
    // Hedges start only while committed bytes are below the budget: at most budget + one partition.
    assert.ok(done.hedgeBytes < budget + MiB, `hedge bytes ${done.hedgeBytes} ≥ budget ${budget} + 1 MiB`)
    for (const h of ev['hedge-start']) assert.ok(h.committedBytes < budget + MiB)
    // On the wire (bytes pulled into requests): the same, plus at most one 64 KiB slice per hedge
    // that an aborted request pulled but its socket never took.
    assert.ok(counting.patched() - data.length < budget + MiB + 64 * 1024 * done.hedgesStarted, `wire extra ${counting.patched() - data.length}`)
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
    t.diagnostic(`slow: ${done.hedgesStarted} hedges (${done.hedgesWon} won), hedge bytes ${done.hedgeBytes} of budget ${budget}, wire extra ${counting.patched() - data.length}`)
  })

  test('the answer of a completed attempt is held back: the gateway verifies it first, the hedge is superseded, the client adopts the gateway\'s winner', { timeout: 30_000 }, async () => {
    // With the gateway's own reconciliation (first verified wins, 410 TESSERA_ERR_SUPERSEDED +
    // Tessera-Winner for the others), two complete copies never coexist: the second to finish is
    // refused. What the client must get right is to agree with the gateway even when the winner's
    // own answer never arrives.
    const holding = await proxy({ holdFirstPatchResponse: true })
    const endpoints = [holding.url, (await proxy()).url]
    const data = bytes(6 * MiB, 61)
    const started = Date.now()
    const u = upload(data, base(endpoints, { hedgeBudget: 0.5 }))
    const ev = record(u)
    const result = await u.done
    assert.ok(Date.now() - started < 60_000, 'no stall timeout was needed')
    assert.ok(holding.faulted())
    const victimUrl = `${new URL(holding.url).origin}${holding.victimPath()}`
    const start = ev['attempt-start'].find((e) => e.url === victimUrl)!
    assert.ok(start, 'the held PATCH belongs to an attempt')
    // The server completed the held attempt: its (held back) answer acknowledged the whole partition.
    assert.match(holding.held(), new RegExp(`upload-offset: ${start.length}\\r\\n`, 'i'))
    const won = ev['attempt-won'].find((e) => e.partition === start.partition)!
    assert.equal(won.url, victimUrl, 'the client adopted the attempt the gateway verified first')
    const lost = ev['attempt-lost'].filter((e) => e.partition === start.partition)
    assert.ok(lost.length >= 1 && lost.every((l) => l.winner === start.attempt), JSON.stringify(lost))
    for (const l of lost) {
      const term = ev['attempt-terminated'].find((e) => e.partition === l.partition && e.attempt === l.attempt)
      assert.ok(term && term.result !== 'failed')
      assert.ok([404, 410].includes(await headStatus(l.url!, gw.url)), 'the loser is gone')
    }
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
  })
})
