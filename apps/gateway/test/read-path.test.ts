// The read path over real HTTP: hedged reads around a backend that stalls forever (FaultyBackend
// over the real directories), echoes in memory and their invalidation, access-correlation
// prefetch, and GET /_tessera/read.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { FaultyBackend, type Manifest } from '@tessera/storage'
import { loadConfig } from '../src/config.js'
import type { ReadStatus } from '../src/read/gateway-reads.js'
import { startDurabilityGateway } from './helpers/durability-gateway.js'
import { TUS, bytes, download, idOf, startGateway, upload, type TestGateway } from './helpers/gateway.js'

const gateways: TestGateway[] = []
after(async () => Promise.all(gateways.map((g) => g.close())))

async function start(flags: string[], backends?: (opened: readonly FaultyBackend[]) => void): Promise<TestGateway> {
  const gw = await startGateway(['--block-size', '4KiB', ...flags], backends && {
    backends: (opened) => {
      const faulty = opened.map((b, i) => new FaultyBackend(b, { seed: i + 1 }))
      backends(faulty)
      return faulty
    },
  })
  gateways.push(gw)
  return gw
}

async function status(gw: TestGateway, token?: string): Promise<ReadStatus> {
  const res = await fetch(`${gw.origin}/_tessera/read`, token ? { headers: { authorization: `Bearer ${token}` } } : {})
  assert.equal(res.status, 200)
  return (await res.json()) as ReadStatus
}

async function manifestOf(gw: TestGateway, url: string): Promise<Manifest> {
  return (await gw.deps!.store.options.manifests.get(idOf(url)))!
}

describe('read path', () => {
  test('a backend that stalls forever: GETs complete identical, long before one block deadline, after two hedges', async () => {
    let faulty: readonly FaultyBackend[] = []
    const gw = await start(['--echo-memory', '0'], (f) => (faulty = f))
    const body = bytes(200_000, 3)
    const url = await upload(gw, body)
    const holder = (await manifestOf(gw, url)).stripes[0]!.blocks[0]!.backend
    const stalled = faulty.find((b) => b.id === holder)!
    stalled.setFaults({ stallRate: 1, ops: ['read'] })
    gw.deps!.reads!.sampleLoad(0)
    const began = performance.now()
    for (let i = 0; i < 3; i++) assert.deepEqual(await download(url), body)
    gw.deps!.reads!.sampleLoad(10_000)
    // The store's block deadline is 15 s: three GETs that waited for it even once would take longer.
    assert.ok(performance.now() - began < 15_000, 'no read waited for the block deadline')
    const { reads } = await status(gw)
    // Late twice in a row, the backend is read around; the stripes read ahead (3) started before that,
    // and on a busy machine a hedge of another late block may pick it before it is learned.
    assert.ok(stalled.stats.stalls * 4 <= reads.stripes, `${stalled.stats.stalls} stalled reads over ${reads.stripes} stripes`)
    assert.ok(reads.hedges >= 1 && reads.hedges <= 8 + 0.1 * reads.blocksNeeded, `${reads.hedges} hedges over ${reads.stripes} stripes, within the budget`)
    assert.equal(reads.blocksRead, reads.blocksNeeded + reads.hedges + reads.replacements)
    // The load window saw every block read, per backend; the stalled one is predicted slowest.
    const { load } = await status(gw)
    assert.equal(Math.round(load.backends.reduce((n, b) => n + b.readsPerSecond * 10, 0)), reads.blocksRead)
    assert.equal([...load.backends].sort((x, y) => y.predictedMs - x.predictedMs)[0]!.backend, stalled.id)
  })

  test('echoes: hot blocks served from memory within the budget; DELETE drops them and the GET is 410, never old bytes', async () => {
    const gw = await start(['--echo-memory', '64KiB', '--prefetch=false'])
    const hot = bytes(40_000, 5)
    const url = await upload(gw, hot)
    for (let i = 0; i < 3; i++) assert.deepEqual(await download(url), hot)
    const warm = await status(gw)
    assert.ok(warm.echoes!.hits >= 10 && warm.echoes!.bytes > 0, `hits ${warm.echoes!.hits}`)
    // Many cold objects read twice each: the cache stays within its budget.
    for (let n = 0; n < 6; n++) {
      const cold = bytes(30_000, 10 + n)
      const u = await upload(gw, cold)
      assert.deepEqual(await download(u), cold)
      assert.deepEqual(await download(u), cold)
      assert.ok((await status(gw)).echoes!.bytes <= 64 * 1024)
    }
    assert.ok((await status(gw)).echoes!.evicted > 0)
    for (let i = 0; i < 2; i++) assert.deepEqual(await download(url), hot) // hot again: cached on its second read
    const res = await fetch(url, { method: 'DELETE', headers: TUS })
    assert.equal(res.status, 204)
    const after = await status(gw)
    assert.ok(after.echoes!.invalidated > 0)
    const get = await fetch(url)
    assert.equal(get.status, 410)
    assert.notDeepEqual(Buffer.from(await get.arrayBuffer()), hot)
  })

  test('echoes serve a hot upload whose blocks are gone from more than m backends; a cold one then fails cleanly', async () => {
    let faulty: readonly FaultyBackend[] = []
    const gw = await start(['--echo-memory', '1MiB', '--prefetch=false'], (f) => (faulty = f))
    const hot = bytes(50_000, 31)
    const cold = bytes(50_000, 32)
    const [hotUrl, coldUrl] = [await upload(gw, hot), await upload(gw, cold)]
    for (let i = 0; i < 2; i++) assert.deepEqual(await download(hotUrl), hot)
    for (const b of faulty.slice(0, 3)) b.setFaults({ gone: true })
    assert.deepEqual(await download(hotUrl), hot, 'verified blocks from memory')
    assert.equal((await fetch(coldUrl)).status, 503)
  })

  test('--echo-backend-copies: hot blocks get copies recorded under meta/echoes; DELETE takes the copies and the map', async () => {
    const gw = await start(['--echo-memory', '1MiB', '--echo-backend-copies', '1', '--prefetch=false'])
    const body = bytes(40_000, 41)
    const url = await upload(gw, body)
    const mapFile = join(gw.dataDir, 'meta', 'echoes', `${idOf(url)}.echoes`)
    for (const deadline = Date.now() + 10_000; !(await status(gw)).reads.echoCopies!.made; ) {
      assert.ok(Date.now() < deadline, 'no echo copy made') // a hang guard
      assert.deepEqual(await download(url), body)
    }
    assert.ok(existsSync(mapFile))
    assert.equal((await fetch(url, { method: 'DELETE', headers: TUS })).status, 204)
    assert.ok(!existsSync(mapFile))
    assert.equal((await status(gw)).reads.echoCopies!.held, 0)
  })

  test('prefetch: after a session that read A then B, a new session reading A finds B in memory', async () => {
    // One observation gives P(B | A) = 1/2 (the model's prior), above this threshold; B, read once, is not cached yet.
    const gw = await start(['--echo-memory', '1MiB', '--prefetch-threshold', '0.4'])
    const a = bytes(20_000, 21)
    const b = bytes(20_000, 22)
    const [ua, ub] = [await upload(gw, a), await upload(gw, b)]
    assert.deepEqual(await download(ua, { 'Tessera-Read-Session': 'train' }), a)
    assert.deepEqual(await download(ub, { 'Tessera-Read-Session': 'train' }), b)
    const before = await status(gw)
    assert.deepEqual(await download(ua, { 'Tessera-Read-Session': 'new' }), a)
    // The prefetch runs beside the GET; wait for it (a hang guard, not a timing assertion).
    let now = before
    for (const deadline = Date.now() + 5000; now.prefetch!.issued === before.prefetch!.issued || now.echoes!.prefetched === before.echoes!.prefetched; ) {
      assert.ok(Date.now() < deadline, `no prefetch: ${JSON.stringify(now.prefetch)}`)
      await new Promise((r) => setTimeout(r, 20))
      now = await status(gw)
    }
    assert.deepEqual(await download(ub, { 'Tessera-Read-Session': 'new' }), b)
    const used = await status(gw)
    assert.ok(now.echoes!.prefetched > 0)
    assert.equal(used.echoes!.prefetchUsed, now.echoes!.prefetched, 'every prefetched block of B was read')
    assert.equal(used.prefetch!.precision, 1)
  })

  test('GET /_tessera/read needs the operator token when one is set', async () => {
    const token = 'read-operator-token-123456'
    const gw = await start(['--operator-token', token])
    assert.equal((await fetch(`${gw.origin}/_tessera/read`)).status, 401)
    const s = await status(gw, token)
    assert.equal(s.reads.hedging, true)
    assert.equal(s.echoes!.maxBytes, 256 * 1024 * 1024)
    assert.equal(s.prefetch!.threshold, 0.6)
    assert.equal(s.load.horizonMs, 60_000)
  })

  test('read options are validated, naming the option', () => {
    assert.throws(() => loadConfig(['--echo-memory', 'lots', '--prefetch-threshold', '2', '--prefetch-stripes', '0', '--hedged-reads=maybe', '--echo-backend-copies', '9'], {}), (err: Error) =>
      ['--echo-memory', '--prefetch-threshold', '--prefetch-stripes', '--hedged-reads', '--echo-backend-copies'].every((f) => err.message.includes(f)))
    assert.throws(() => loadConfig(['--echo-backend-copies', '1', '--echo-memory', '0'], {}), /--echo-backend-copies: .*--echo-memory/)
    assert.throws(() => loadConfig(['--echo-backend-copies', '1', '--redis-url', 'redis://127.0.0.1:6379'], {}), /--echo-backend-copies: not with --redis-url/)
    assert.equal(loadConfig(['--hedged-reads=false'], {}).read.hedgedReads, false)
  })

  test('rebalancing options: defaults, values, validation naming the option; GET /_tessera/read reports the moves (null when off)', async () => {
    const defaults = loadConfig([], {})
    assert.deepEqual([defaults.durability.rebalanceThreshold, defaults.durability.rebalanceMoves, defaults.durability.rebalanceCooldownMs, defaults.read.loadWindowMs], [1, 4, 600_000, 10_000])
    const set = loadConfig(['--rebalance-threshold', '0.5', '--rebalance-moves', '8', '--rebalance-cooldown', '30s', '--load-window', '2s'], {})
    assert.deepEqual([set.durability.rebalanceThreshold, set.durability.rebalanceMoves, set.durability.rebalanceCooldownMs, set.read.loadWindowMs], [0.5, 8, 30_000, 2000])
    assert.throws(() => loadConfig(['--rebalance-threshold', '-1', '--rebalance-moves', 'x', '--rebalance-cooldown', 'soon', '--load-window', '50ms'], {}), (err: Error) =>
      ['--rebalance-threshold', '--rebalance-moves', '--rebalance-cooldown', '--load-window'].every((f) => err.message.includes(f)))
    const readStatus = async (origin: string): Promise<ReadStatus> => (await fetch(`${origin}/_tessera/read`)).json() as Promise<ReadStatus>
    for (const [flags, expected] of [[[], [1, 4, 0, 0]], [['--rebalance-threshold', '0'], null]] as const) {
      const gw = await startDurabilityGateway(flags)
      try {
        const r = (await readStatus(gw.origin)).rebalance
        assert.deepEqual(r && [r.threshold, r.maxMovesPerRound, r.done, r.bytesMoved], expected)
      } finally {
        await gw.close()
      }
    }
  })
})
