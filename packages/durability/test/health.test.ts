import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { FaultyBackend, FsBackend } from '@tessera/storage'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HealthMonitor, ManualClock, RingSeries, aggregateWindow, median, runAs, type HealthRecord } from '../src/index.js'

const dirs: string[] = []
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function fsBackend(id: string): Promise<FsBackend> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-health-'))
  dirs.push(dir)
  return FsBackend.open({ id, root: dir })
}

describe('aggregateWindow', () => {
  it('computes median latency, error rate, bytes and throughput by hand', () => {
    const r = aggregateWindow(
      [
        { op: 'put', ms: 5, ok: true, bytesWritten: 1000 },
        { op: 'read', ms: 1, ok: true, bytesRead: 3000 },
        { op: 'read', ms: 3, ok: false },
        { op: 'stat', ms: 10, ok: true },
        { op: 'put', ms: 7, ok: true, bytesWritten: 4000 },
      ],
      0,
      60_000,
      60_000,
      undefined,
    )
    // latencies 1 3 5 7 10 → median 5; 1 of 5 failed; 8000 bytes moved in 5 + 1 + 7 = 13 ms.
    assert.equal(r.latencyMs, 5)
    assert.equal(r.errorRate, 0.2)
    assert.equal(r.available, true)
    assert.equal(r.bytesRead, 3000)
    assert.equal(r.bytesWritten, 5000)
    assert.equal(r.throughputBytesPerSecond, (8000 / 13) * 1000)
    assert.equal(r.empty, false)
  })

  it('counts corrupt blocks as errors, takes the mean of the middle two, and carries an empty window over', () => {
    const r = aggregateWindow([{ op: 'read', ms: 2, ok: true }, { op: 'read', ms: 4, ok: true }], 2, 10, 10, undefined)
    assert.equal(r.latencyMs, 3)
    assert.equal(r.errorRate, 0.5) // 2 corrupt of 4 answers
    assert.equal(r.corrupt, 2)
    const down = aggregateWindow([{ op: 'put', ms: 1, ok: false }, { op: 'read', ms: 9, ok: false }], 0, 20, 10, r)
    assert.equal(down.available, false)
    assert.equal(down.errorRate, 1)
    const empty = aggregateWindow([], 0, 30, 10, down)
    assert.equal(empty.empty, true)
    assert.equal(empty.available, false)
    assert.equal(empty.latencyMs, 5)
    assert.equal(empty.errorRate, 0)
    assert.equal(median([]), undefined)
    assert.equal(median([4, 1, 9]), 4)
  })
})

describe('RingSeries', () => {
  it('keeps only the newest items, oldest first', () => {
    const ring = new RingSeries<number>(3)
    for (let i = 1; i <= 5; i++) ring.push(i)
    assert.deepEqual(ring.toArray(), [3, 4, 5])
    assert.equal(ring.latest(), 5)
    assert.equal(ring.size, 3)
  })
})

describe('HealthMonitor', () => {
  it('records passive figures per window from a wrapped backend, with injected clocks', async () => {
    const clock = new ManualClock(0)
    let t = 0
    // Every call of `elapsed` moves 2 ms on: each operation lasts exactly 2 ms.
    const health = new HealthMonitor({ clock, elapsed: () => (t += 2) - 2, probe: 'none', sampleIntervalMs: 60_000, seriesLength: 4 })
    const good = health.wrap(await fsBackend('good'))
    const gone = health.wrap(new FaultyBackend(await fsBackend('gone'), { gone: true }))
    const records: [string, HealthRecord][] = []
    health.onSample((b, r) => records.push([b, r]))
    health.start()
    await good.put('a/1', new Uint8Array(100))
    await good.put('a/2', new Uint8Array(300))
    assert.equal((await good.read('a/1')).byteLength, 100)
    await assert.rejects(good.read('a/absent'), { code: 'STORAGE_ERR_NOT_FOUND' }) // an answer, not a failure
    await assert.rejects(gone.put('x/1', new Uint8Array(10)), { code: 'STORAGE_ERR_UNAVAILABLE' })
    await assert.rejects(gone.read('x/1'), { code: 'STORAGE_ERR_UNAVAILABLE' })
    await clock.advance(60_000)
    health.stop()
    assert.equal(records.length, 2)
    const g = health.latest('good')!
    assert.equal(g.ops, 4)
    assert.equal(g.errors, 0)
    assert.equal(g.errorRate, 0)
    assert.equal(g.latencyMs, 2)
    assert.equal(g.bytesWritten, 400)
    assert.equal(g.bytesRead, 100)
    assert.equal(g.throughputBytesPerSecond, (500 / 6) * 1000) // three byte-moving ops of 2 ms
    assert.equal(g.tMs, 60_000)
    assert.equal(g.windowMs, 60_000)
    const x = health.latest('gone')!
    assert.equal(x.ops, 2)
    assert.equal(x.errorRate, 1)
    assert.equal(x.available, false)
    // JSON-able snapshot with the series.
    const snap = health.snapshot({ seriesLength: 4 })
    assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap)
    assert.equal(snap.io.foreground.bytesWritten, 400)
    assert.equal(snap.io.foreground.ops, 6)
    assert.throws(() => health.latest('nope'), { code: 'DURABILITY_ERR_UNKNOWN_BACKEND' })
    assert.throws(() => health.wrap(good), { code: 'DURABILITY_ERR_INVALID_ARGUMENT' })
  })

  it('probes by writing, reading back and deleting a block under the reserved prefix, and reports capacity', async () => {
    const clock = new ManualClock(0)
    const health = new HealthMonitor({ clock, probe: 'write', probeBytes: 32 })
    const inner = await fsBackend('p')
    health.wrap(inner)
    const dead = new FaultyBackend(await fsBackend('q'))
    health.wrap(dead)
    dead.setFaults({ gone: true })
    const results = await health.probeAll()
    assert.deepEqual(results.map((r) => [r.backend, r.ok, r.code]), [['p', true, undefined], ['q', false, 'STORAGE_ERR_UNAVAILABLE']])
    const keys: string[] = []
    for await (const k of inner.list('.tessera-probe/')) keys.push(k)
    assert.deepEqual(keys, [])
    const snap = health.snapshot()
    assert.equal(typeof snap.backends[0]!.capacity?.freeBytes, 'number')
    assert.equal(snap.io.probe.bytesWritten, 32)
    assert.equal(snap.io.probe.bytesRead, 32)
    const [p, q] = [...health.sample().values()]
    assert.equal(p!.ops, 4) // put, read, delete, capacity
    assert.equal(p!.errorRate, 0)
    assert.equal(q!.available, false)
  })

  it('counts operations run for background work under their purpose', async () => {
    const health = new HealthMonitor({ probe: 'none' })
    const b = health.wrap(await fsBackend('m'))
    await runAs('migrate', () => b.put('o/1', new Uint8Array(50)))
    await b.put('o/2', new Uint8Array(7))
    const io = health.io()
    assert.equal(io.migrate.bytesWritten, 50)
    assert.equal(io.foreground.bytesWritten, 7)
  })

  it('rejects invalid options with a typed error naming the option', () => {
    assert.throws(() => new HealthMonitor({ sampleIntervalMs: 0 }), { code: 'DURABILITY_ERR_INVALID_OPTION', message: /sampleIntervalMs/ })
    assert.throws(() => new HealthMonitor({ probe: 'ping' as never }), { code: 'DURABILITY_ERR_INVALID_OPTION', message: /probe/ })
    assert.throws(() => new HealthMonitor({ probeBytes: 1.5 }), { code: 'DURABILITY_ERR_INVALID_OPTION' })
  })
})
