// Deferred-length splits of in-flight partitions (issue 3, seed 001 §1): a real gateway child
// process, a real fault-proxy process whose upload bandwidth drops from 200 to 2 Mbit/s, real
// sockets. Assertions are on events, bytes and the gateway's event log — never on durations; the
// test timeouts are hang guards.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { FileStateStore, upload, type UploadOptions } from '../src/index.js'
import { bytes, download, sha256, startGateway, tempDir, type Gateway } from './helpers.js'
import { recordEvents, type Recorded } from './helpers/events.js'
import { startProxyProcess, type ProxyProcess } from './helpers/fault-proxy-process.js'

const MiB = 1024 * 1024
/** 200 Mbit/s for a moment, then 2 Mbit/s for good (upload direction): the link degrades mid-upload (8 MiB cannot cross 50 ms at 200 Mbit/s). */
const DEGRADING = { bandwidth: [{ bitsPerSecond: 200_000_000, durationMs: 50 }, { bitsPerSecond: 2_000_000, durationMs: 600_000 }], bandwidthDirection: 'upload' }
/**
 * 2 Mbit/s from the start: the resume tests need a split in the first run whatever the machine's
 * speed (a small file could cross a fast phase whole).
 */
const SLOW = { bandwidth: [{ bitsPerSecond: 2_000_000, durationMs: 600_000 }], bandwidthDirection: 'upload' }

interface GatewayEvent {
  readonly event: string
  readonly uploadId: string
  readonly partition?: string
  readonly offset?: number
  readonly bytes: number
  readonly reason?: string
  readonly verifyRead?: boolean
}

describe('splits of in-flight partitions', () => {
  let gw: Gateway
  let tmp: Awaited<ReturnType<typeof tempDir>>
  let log: string
  const proxies = new Set<ProxyProcess>()
  before(async () => {
    tmp = await tempDir('tessera-client-split-')
    log = join(tmp.dir, 'reconciliation.jsonl')
    gw = await startGateway(['--reconciliation-log', log])
  })
  after(async () => {
    for (const p of proxies) await p.stop()
    await gw.stop()
    await tmp.remove()
  })

  /** The upload's URL on the gateway itself (the final may have been created through the proxy). */
  const direct = (url: string): string => new URL(new URL(url).pathname, gw.url).href
  async function gatewayEvents(): Promise<GatewayEvent[]> {
    return (await readFile(log, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as GatewayEvent)
  }
  /** One slow (degrading) endpoint and one direct: [slow, good]. */
  async function endpoints(seed: number, schedule: Record<string, unknown> = DEGRADING): Promise<{ slow: string; good: string; proxy: ProxyProcess }> {
    const proxy = await startProxyProcess(seed, [{ name: 'degrading', upstream: new URL(gw.url).origin, ...schedule }])
    proxies.add(proxy)
    return { slow: proxy.endpoints[0]!, good: gw.url, proxy }
  }
  async function stopProxy(p: ProxyProcess): Promise<void> {
    proxies.delete(p)
    await p.stop()
  }
  const options = (eps: readonly string[], extra: Partial<UploadOptions> = {}): UploadOptions => ({
    endpoints: [...eps],
    stateStore: null,
    // 2 MiB partitions take ~8 s at 2 Mbit/s: far over 3 × 500 ms, so one in flight on the slow
    // endpoint is split; on the direct endpoint they take milliseconds.
    minPartitionBytes: 256 * 1024,
    initialPartitionBytes: 2 * MiB,
    maxPartitionBytes: 2 * MiB,
    targetPartitionMs: 500,
    // Hedging off: a hedge of the slow partition would be the other answer to the same problem.
    hedging: false,
    retryDelaysMs: [50, 100, 200, 400],
    ...extra,
  })
  /** Every split's partition events, and the final layout: contiguous, in file order. */
  function checkLayout(ev: Recorded, size: number): void {
    const parts = new Map<number, { offset: number; length: number }>()
    for (const p of ev.partition) parts.set(p.index, { offset: p.offset, length: p.length })
    for (const s of ev['partition-split']) {
      parts.set(s.partition, { offset: s.offset, length: s.at })
      assert.ok(s.at > 0 && s.at < s.lengthBefore, JSON.stringify(s))
      assert.equal(s.newPartitions[0]!.offset, s.offset + s.at)
      assert.equal(s.newPartitions.reduce((n, p) => n + p.length, 0), s.lengthBefore - s.at)
    }
    const sorted = [...parts.values()].sort((a, b) => a.offset - b.offset)
    let at = 0
    for (const p of sorted) {
      assert.equal(p.offset, at, `contiguous: ${JSON.stringify(sorted)}`)
      at += p.length
    }
    assert.equal(at, size)
  }

  test('the link degrades mid-upload: the slow partition is split at its acknowledged offset, its rest re-partitioned; the upload is identical and the gateway verified every part and the final', { timeout: 60_000 }, async (t) => {
    const { slow, good, proxy } = await endpoints(401)
    const data = bytes(8 * MiB, 401)
    const u = upload(data, options([slow, good]))
    const ev = recordEvents(u)
    // Partition cuts and splits in one sequence, to check the indices a split hands out.
    const order: ({ kind: 'partition'; index: number } | { kind: 'split'; news: number[] })[] = []
    u.on('partition', (p) => order.push({ kind: 'partition', index: p.index }))
    u.on('partition-split', (e) => order.push({ kind: 'split', news: e.newPartitions.map((n) => n.index) }))
    const result = await u.done
    await stopProxy(proxy)
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(direct(result.url)), { sha256: sha256(data), size: data.length })

    const split = ev['partition-split'].find((e) => e.endpoint === slow)
    assert.ok(split, `a partition in flight on the degraded endpoint was split: ${JSON.stringify(ev['partition-split'])}`)
    // Each split's rest takes the next free indices: its partition events come right before it,
    // numbered on from the highest index handed out before them.
    for (const [i, o] of order.entries()) {
      if (o.kind !== 'split') continue
      const before = order.slice(0, i - o.news.length).flatMap((x) => (x.kind === 'partition' ? [x.index] : []))
      assert.deepEqual(order.slice(i - o.news.length, i), o.news.map((index) => ({ kind: 'partition', index })))
      assert.deepEqual(o.news, o.news.map((_, k) => Math.max(...before) + 1 + k))
    }
    for (const n of split.newPartitions) assert.ok(ev['attempt-won'].some((w) => w.partition === n.index), `new partition ${n.index} won`)
    assert.ok(ev['attempt-won'].some((w) => w.partition === split.newPartitions[0]!.index && w.endpoint === good))
    assert.ok(ev.partition.some((p) => p.origin === 'split'))
    checkLayout(ev, data.length)

    // Gateway: the split partial won verified at its new length (its Tessera-Sha256 was checked),
    // every part won verified, and the final was verified against the whole-file digest.
    const g = await gatewayEvents()
    const finalId = new URL(result.url).pathname.split('/').pop()!
    const fin = g.find((e) => e.uploadId === finalId)
    assert.equal(fin?.event, 'final-verified')
    const session = g.find((e) => e.event === 'attempt-won' && e.offset === split.offset && e.bytes === split.at)
    assert.ok(session, `the split partial won at ${split.at} bytes: ${JSON.stringify(g.filter((e) => e.event === 'attempt-won'))}`)
    const sessionId = session.partition!.split('/')[0]!
    const wins = g.filter((e) => e.event === 'attempt-won' && e.partition!.startsWith(`${sessionId}/`))
    assert.ok(wins.every((w) => w.reason === undefined), 'every part verified')
    assert.equal(wins.reduce((n, w) => n + w.bytes, 0), data.length)
    t.diagnostic(`splits ${ev['partition-split'].length}: ${ev['partition-split'].map((s) => `p${s.partition}@${s.at}/${s.lengthBefore} ${Math.round(s.rateBps / 1024)} KiB/s → ${s.newPartitions.length} new`).join('; ')}`)
  })

  /** A state store that can be frozen (writes become no-ops: what kill -9 leaves on disk), remembering its key. */
  function freezable(store: FileStateStore): { store: FileStateStore; freeze(): void; key(): string } {
    let frozen = false
    let key = ''
    const wrapped = {
      get: (k: string) => store.get(k),
      set: (k: string, v: unknown) => {
        key = k
        return frozen ? Promise.resolve() : store.set(k, v as never)
      },
      delete: (k: string) => store.delete(k),
    } as unknown as FileStateStore
    return { store: wrapped, freeze: () => (frozen = true), key: () => key }
  }

  test('a crash right after the split partial was ended, before the state recorded it: the re-run finds it ended shorter, re-partitions the rest and completes identical', { timeout: 60_000 }, async (t) => {
    const { slow, good, proxy } = await endpoints(402, SLOW)
    const data = bytes(4 * MiB, 402)
    const path = join(tmp.dir, 'crash.bin')
    await writeFile(path, data)
    const disk = new FileStateStore(join(tmp.dir, 'state-crash'))
    const state = freezable(disk)
    const u1 = upload(path, options([slow, good], { stateStore: state.store }))
    // The split's length-declaring PATCH was answered; the state write that records the split comes
    // right after this event: freeze the disk and stop the run there.
    const split1 = new Promise<void>((resolve) =>
      u1.on('partition-split', () => {
        state.freeze()
        u1.abort()
        resolve()
      }),
    )
    await Promise.race([split1, u1.done.then(() => assert.fail('the first run finished without a split'))])
    await u1.done.catch(() => {})
    const stored = (await disk.get(state.key())) as { partitions: { index: number; offset: number; length: number }[] }

    const u2 = upload(path, options([slow, good], { stateStore: disk }))
    const ev2 = recordEvents(u2)
    const result = await u2.done
    await stopProxy(proxy)
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(direct(result.url)), { sha256: sha256(data), size: data.length })
    assert.equal(ev2.resume.length, 1)
    const redo = ev2['partition-split'].find((s) => s.rateBps === 0)
    assert.ok(redo, `the re-run re-partitioned the rest of the partition ended by the first run: ${JSON.stringify(ev2['partition-split'])}`)
    assert.ok(stored.partitions.some((p) => p.index === redo.partition && p.length === redo.lengthBefore), 'the state on disk still had that partition whole')
    checkLayout(ev2, data.length)
    const g = await gatewayEvents()
    assert.equal(g.find((e) => e.uploadId === new URL(result.url).pathname.split('/').pop())?.event, 'final-verified')
    t.diagnostic(`re-run: ${ev2['partition-split'].length} split(s), resumed ${JSON.stringify(ev2.resume[0])}`)
  })

  test('abort after a split was recorded: the re-run replays the partitions in file order with their own indices, re-sends nothing done, and completes identical', { timeout: 60_000 }, async () => {
    const { slow, good, proxy } = await endpoints(403, SLOW)
    const data = bytes(4 * MiB, 403)
    const path = join(tmp.dir, 'abort.bin')
    await writeFile(path, data)
    const disk = new FileStateStore(join(tmp.dir, 'state-abort'))
    const state = freezable(disk)
    const u1 = upload(path, options([slow, good], { stateStore: state.store }))
    const ev1 = recordEvents(u1)
    // Abort once a partition cut from a split's rest won: the split is on disk by then.
    const wonRest = new Promise<void>((resolve) =>
      u1.on('attempt-won', (w) => {
        if (ev1['partition-split'].some((s) => s.newPartitions.some((n) => n.index === w.partition))) {
          u1.abort()
          resolve()
        }
      }),
    )
    await Promise.race([wonRest, u1.done.then(() => assert.fail('the first run finished first'))])
    await u1.done.catch(() => {})
    const stored = (await disk.get(state.key())) as { partitions: { index: number; offset: number; length: number; done: boolean }[] }
    const split = ev1['partition-split'][0]!
    // The invariant: file order, contiguous, the split partition at its new length, its rest after it.
    let at = 0
    for (const p of stored.partitions) {
      assert.equal(p.offset, at)
      at += p.length
    }
    const i = stored.partitions.findIndex((p) => p.index === split.partition)
    assert.equal(stored.partitions[i]!.length, split.at)
    assert.deepEqual(stored.partitions.slice(i + 1, i + 1 + split.newPartitions.length).map((p) => p.index), split.newPartitions.map((n) => n.index))

    const u2 = upload(path, options([slow, good], { stateStore: disk }))
    const ev2 = recordEvents(u2)
    const result = await u2.done
    await stopProxy(proxy)
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(direct(result.url)), { sha256: sha256(data), size: data.length })
    assert.deepEqual(
      ev2.partition.filter((p) => p.origin === 'resumed').map((p) => p.index),
      stored.partitions.map((p) => p.index),
      'replayed in file order with the stored indices',
    )
    const doneBefore = new Set(stored.partitions.filter((p) => p.done).map((p) => p.index))
    assert.ok(ev2['attempt-start'].every((a) => !doneBefore.has(a.partition)), 'no partition done in the first run is sent again')
    const g = await gatewayEvents()
    assert.equal(g.find((e) => e.uploadId === new URL(result.url).pathname.split('/').pop())?.event, 'final-verified')
  })
})

