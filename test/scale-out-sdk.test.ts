// Scale-out with the SDK and the durability queue (issue 10): two gateway processes on one Redis
// prefix and one set of backend directories (helpers/cluster.ts) —
// - @tessera/client over [a fault proxy in front of A that stalls every request body, B]: the
//   hedges of A's partitions win on B, and the upload never waits for the stall timeout;
// - A SIGKILLed while the SDK is sending to [A, B]: the SDK finishes on B, nothing A acknowledged is sent again;
// - a repair task A queued and was running when it was SIGKILLed is re-run by B from the shared
//   BullMQ queue once A's task lease lapsed, and the block is back.
// Every upload is downloaded byte-identical. Needs Redis (REDIS_URL, default redis://127.0.0.1:6379):
// skipped with the reason when it is unreachable, failed when CI is set.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { rename, rm } from 'node:fs/promises'
import { promisify } from 'node:util'
import { after, before, describe, test } from 'node:test'
import { NodeHttpTransport, upload as sdkUpload, type AttemptWonEvent, type HedgeStartEvent, type HttpTransport, type StallEvent } from '@tessera/client'
import { BullTaskQueue, RedisManifestStore } from '@tessera/cluster'
import { openConnection, redisSkip } from '@tessera/cluster/testing'
import type { DurabilityEvent } from '@tessera/durability'
import { startFaultProxy } from '@tessera/fault-proxy'
import { fsMedium } from '@tessera/gateway/testing'
import { TestClusters } from './helpers/cluster.js'
import { dataBuffer, sha256Data } from './helpers/data.js'
import { type GatewayProcess, urlOn } from './helpers/gateway-process.js'
import { createUpload, download } from './helpers/http.js'
import { rawPatch } from './helpers/raw-patch.js'

/** Per-test hang guard (a stuck socket or a task never re-run must fail the run, not stall it); never a performance bound. */
const HANG_GUARD = { timeout: 60_000 }
const MiB = 1024 * 1024

const skip = await redisSkip('the scale-out tests')
const exec = promisify(execFile)

/** Downloads `url` from every gateway and checks each body against the seeded data. */
async function assertIdentical(url: string, gateways: readonly GatewayProcess[], seed: string, size: number): Promise<void> {
  for (const gateway of gateways) {
    const got = await download(urlOn(gateway, url))
    assert.equal(got.status, 200, got.text)
    assert.equal(got.complete, true)
    assert.equal(got.sha256, sha256Data(seed, size), `bytes served by ${gateway.url}`)
  }
}

/** Resolves what `probe` resolves once it is truthy, polling every 50 ms; a hang guard after 20 s, not a timing assertion. */
async function until<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const got = await probe()
    if (got) return got
    if (Date.now() > deadline) throw new Error(`hang guard: ${what} did not happen within 20 s`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** What these tests read of `GET /_tessera/durability` (DurabilityStatus): `queue.running` counts the gateway's own tasks. */
interface DurabilityView {
  readonly queue: { readonly waiting: number; readonly running: number }
  readonly recent: readonly DurabilityEvent[]
}

/** `GET /_tessera/durability` of a gateway (no operator token in these tests). */
async function durability(gateway: GatewayProcess): Promise<DurabilityView> {
  const res = await fetch(new URL('/_tessera/durability', gateway.url))
  assert.equal(res.status, 200)
  return (await res.json()) as DurabilityView
}

describe('scale-out: the SDK and the durability queue across gateways', { skip }, () => {
  let clusters: TestClusters

  before(async () => {
    clusters = await TestClusters.open('scale-out-sdk')
  })

  after(() => clusters.close())

  test('@tessera/client over [fault proxy stalling A, B]: hedges of A’s partitions win on B, no attempt waits for the stall timeout, identical from either', HANG_GUARD, async () => {
    const { start } = clusters.cluster('hedge')
    const [a, b] = await Promise.all([start('a'), start('b')])
    // Every request through the proxy stalls after 64 KiB (both directions): OPTIONS, POST, HEAD and
    // DELETE get through, no PATCH body of a partition (≥ 1 MiB) does. The socket stays open.
    const proxy = await startFaultProxy({ seed: 10, endpoints: [{ name: 'a', upstream: new URL(a.url).origin, stallRate: 1, stallAfterBytes: 64 * 1024 }] })
    try {
      const viaProxy = `${proxy.endpoint('a').url}/files`
      const size = 16 * MiB + 3
      const seed = 'scale-out-sdk-hedge'
      // A stall timeout past the hang guard: only the hedge loop (a hedge, or the model abandoning a
      // dead attempt) can get a stalled partition done before the guard fails the test.
      const u = sdkUpload(dataBuffer(size, seed), { endpoints: [viaProxy, b.url], stateStore: null, minPartitionBytes: MiB, initialPartitionBytes: 2 * MiB, maxPartitionBytes: 4 * MiB, stallTimeoutMs: 10 * HANG_GUARD.timeout })
      const hedges: HedgeStartEvent[] = []
      const won: AttemptWonEvent[] = []
      const stalls: StallEvent[] = []
      u.on('hedge-start', (e) => hedges.push(e))
      u.on('attempt-won', (e) => won.push(e))
      u.on('stall', (e) => stalls.push(e))
      const result = await u.done

      assert.ok(hedges.some((h) => h.fromEndpoint === viaProxy && h.toEndpoint === b.url), `a partition on A was hedged on B: ${JSON.stringify(hedges)}`)
      assert.ok(won.some((w) => w.hedge && w.endpoint === b.url), `a hedge on B won its partition: ${JSON.stringify(won)}`)
      assert.deepEqual(stalls.filter((s) => s.by === 'timeout'), [], 'no attempt waited for the stall timeout')
      assert.ok(proxy.endpoint('a').stats().faults.stall > 0, 'the proxy did stall A’s requests')
      await assertIdentical(result.url, [a, b], seed, size)
    } finally {
      await proxy.close()
    }
  })

  test('A SIGKILLed mid-PATCH while @tessera/client sends to [A, B]: the SDK finishes on B, nothing A acknowledged is sent again, identical from B', HANG_GUARD, async () => {
    const { start } = clusters.cluster('kill')
    const [a, b] = await Promise.all([start('a'), start('b')])
    const size = 24 * MiB + 17
    const seed = 'scale-out-sdk-kill'
    const wonOnA = new Set<number>()
    let killed = false
    // A dies once it holds an acknowledged partition and is receiving the body of another (≥ 1 MiB
    // of it sent): the SDK's own transport, watched (the spread keeps its capability flags). The
    // partitions cut on A resume on B from the offset in the shared records (a HEAD, which waits for
    // A's lock lease to lapse, ≤ 10 s, when A had taken it); those A acknowledged go into the final as they are.
    const inner = new NodeHttpTransport()
    const transport: HttpTransport = {
      ...inner,
      close: () => inner.close(),
      request: (req) => {
        if (req.method !== 'PATCH' || !req.url.startsWith(a.url)) return inner.request(req)
        return inner.request({
          ...req,
          onUploadProgress: (sent) => {
            req.onUploadProgress?.(sent)
            if (!killed && sent >= MiB && wonOnA.size > 0) {
              killed = true
              a.child.kill('SIGKILL')
            }
          },
        })
      },
    }
    const u = sdkUpload(dataBuffer(size, seed), { endpoints: [a.url, b.url], stateStore: null, transport, minPartitionBytes: MiB, initialPartitionBytes: 2 * MiB, maxPartitionBytes: 4 * MiB })
    const resent: number[] = []
    u.on('attempt-won', (e) => void (!killed && e.endpoint === a.url && wonOnA.add(e.partition)))
    u.on('attempt-start', (e) => void (killed && wonOnA.has(e.partition) && resent.push(e.partition)))
    const result = await u.done.finally(() => transport.close())
    assert.equal(killed, true, 'A was killed mid-upload')
    assert.equal(await a.exited, 'SIGKILL')
    assert.ok(result.url.startsWith(b.url.replace(/\/files$/, '')), `the final is on B: ${result.url}`)
    assert.deepEqual(resent, [], `partitions acknowledged on A before the kill (${[...wonOnA].join(', ')}) were not sent again`)
    await assertIdentical(result.url, [b], seed, size)
  })

  test('a repair A queued and was running when it was SIGKILLed runs on B from the shared queue once its lease lapsed; the block is back, identical', HANG_GUARD, async (t) => {
    // Short task leases, so a dead gateway's task is re-run within seconds (both gateways: the
    // queue's timing is the cluster's). No scrub pass: the repair below is the only task.
    const cluster = clusters.cluster('repair', ['--repair-lease', '2s', '--repair-stalled-check', '500ms', '--scrub-interval', '1h'])
    const a = await cluster.start('a')
    const size = 5 * MiB + 1 // one full stripe (4 + 2 blocks of 1 MiB) and a short one
    const seed = 'scale-out-sdk-repair'
    const url = await createUpload(a.url, size)
    const put = await rawPatch(url, 0, size, [dataBuffer(size, seed)]).outcome
    assert.equal(put.kind === 'response' && put.status, 204)
    const id = new URL(url).pathname.split('/').pop()!

    const connection = await openConnection(cluster.prefix)
    const queue = await BullTaskQueue.open({ connection }) // no worker: it only reads the cluster's counts
    try {
      const manifests = await RedisManifestStore.open({ connection })
      const stripe = (await manifests.get(id))!.stripes[0]!
      const [damaged, spare] = [stripe.blocks[0]!, stripe.blocks[5]!]
      const medium = fsMedium(clusters.backendDirs)
      // Rot in data block 0: A's GET reads around it (blocks 1–3 and parity 4) and queues its regeneration.
      await medium.corrupt(damaged, 0)
      // Parity block 5 is what the regeneration reads last, to re-derive the new block from a second
      // k-subset. Its file becomes a FIFO: open() blocks as on a hung disk, so A stays inside the task
      // (for the store's 15 s block timeout) — it is running it, not done, when it is killed.
      const spareFile = await medium.blockFile(spare)
      await rename(spareFile, `${spareFile}.aside`)
      await exec('mkfifo', [spareFile])
      let hung = true
      const unhang = async (): Promise<void> => {
        if (!hung) return
        hung = false
        await rm(spareFile)
        await rename(`${spareFile}.aside`, spareFile)
      }
      t.after(unhang) // should the test fail before it heals the disk itself

      await assertIdentical(url, [a], seed, size)
      await until('A runs the repair', async () => (await durability(a)).queue.running === 1)
      assert.equal(await a.stop('SIGKILL'), 'SIGKILL')
      await unhang()
      assert.deepEqual(await queue.counts(), { waiting: 0, running: 1 }, 'the dead gateway’s task is still marked running')

      const b = await cluster.start('b')
      const done = await until('B regenerates the block', async () => (await durability(b)).recent.find((e) => e.action === 'regenerate' && e.objectId === id && e.outcome !== 'planned'))
      const { atMs: _at, risk: _risk, detail, ...what } = done
      assert.deepEqual(what, { action: 'regenerate', outcome: 'done', reason: 'read-corrupt', objectId: id, stripe: 0, block: 0, backend: damaged.backend, targets: [damaged.backend] })
      assert.equal(detail?.verifiedBy, 'k-subset', 'B re-derived the new block from a second k-subset (parity block 5 read back)')
      assert.deepEqual(await queue.counts(), { waiting: 0, running: 0 })
      // A new, whole block on the same backend (the stripe uses all six), in the directory.
      const repaired = (await manifests.get(id))!.stripes[0]!.blocks[0]!
      assert.equal(repaired.backend, damaged.backend)
      assert.match(repaired.key, new RegExp(`^${id}/r0\\.0-`))
      assert.ok((await medium.keys(repaired.backend)).includes(repaired.key), `${repaired.key} is on ${repaired.backend}'s directory`)
      await assertIdentical(url, [b], seed, size)
      assert.deepEqual((await durability(b)).recent.filter((e) => e.action === 'fault'), [], 'B read the stripe without routing around a block')
    } finally {
      await queue.close()
      await connection.close()
    }
  })

  test('a gateway with --durability none runs none of the cluster\'s tasks: a queued one waits until a repairing gateway starts', HANG_GUARD, async () => {
    const cluster = clusters.cluster('none', ['--repair-lease', '2s', '--repair-stalled-check', '500ms', '--scrub-interval', '1h'])
    const idle = await cluster.start('none', { args: ['--durability', 'none'] })
    const connection = await openConnection(cluster.prefix)
    const queue = await BullTaskQueue.open({ connection }) // no worker: it queues, and reads the cluster's counts
    try {
      assert.equal(await queue.add({ kind: 'scrub', key: 'scrub', priority: 1, bytes: 4 * MiB, reason: 'test', payload: { limit: 8 } }), true)
      // Long enough for a running worker to have taken it many times over.
      await new Promise((resolve) => setTimeout(resolve, 2000))
      assert.deepEqual(await queue.counts(), { waiting: 1, running: 0 }, 'the none gateway took the task')
      assert.equal((await durability(idle)).recent.filter((e) => e.action === 'scrub').length, 0)
      const repairing = await cluster.start('repairing')
      await until('the repairing gateway runs it', async () => (await durability(repairing)).recent.find((e) => e.action === 'scrub' && e.outcome === 'done'))
      assert.deepEqual(await queue.counts(), { waiting: 0, running: 0 })
    } finally {
      await queue.close()
      await connection.close()
    }
  })
})
