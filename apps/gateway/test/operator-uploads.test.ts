// GET /_tessera/uploads (the unfinished uploads this gateway receives or wrote to lately) and GET
// /_tessera/reconciliation (the end of the event log), over a real gateway and real sockets.
import assert from 'node:assert/strict'
import { appendFile, writeFile } from 'node:fs/promises'
import { after, describe, test } from 'node:test'
import { startDurabilityGateway, type DurabilityGateway } from './helpers/durability-gateway.js'
import { TUS, bytes, eventually, idOf, patch, stalledPatch } from './helpers/gateway.js'
import { createAttempt, postFinal } from './helpers/reconciliation.js'
import { freePort, noRedisServer, startRedis, stopAllRedis } from './helpers/redis-server.js'

const TOKEN = 'uploads-test-operator-token'
const auth = { authorization: `Bearer ${TOKEN}` }

const open: DurabilityGateway[] = []
after(async () => {
  await Promise.all(open.map((g) => g.close()))
  await stopAllRedis()
})

async function start(flags: readonly string[] = []): Promise<DurabilityGateway> {
  const gw = await startDurabilityGateway(['--block-size', '4KiB', '--operator-token', TOKEN, ...flags])
  open.push(gw)
  return gw
}

interface Listed {
  uploads: { id: string; offset: number; length: number | null; receiving: boolean; lastWriteAt: string | null; createdAt: string; partition?: { id: string; attempt: number } }[]
  truncated: boolean
}

/** Polls the list until `until` holds for upload `id`'s entry; a hang guard (20 s) that reports the last list. */
async function entryWhen(gw: DurabilityGateway, id: string, until: (u: Listed['uploads'][number] | undefined) => boolean): Promise<Listed['uploads'][number]> {
  let last: Listed | undefined
  try {
    await eventually(async () => until((last = await listed(gw)).uploads.find((u) => u.id === id)), 20_000)
  } catch (err) {
    throw new Error(`${(err as Error).message}; last list ${JSON.stringify(last)}`)
  }
  return last!.uploads.find((u) => u.id === id)!
}

async function listed(gw: DurabilityGateway): Promise<Listed> {
  const res = await fetch(`${gw.origin}/_tessera/uploads`, { headers: auth })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('cache-control'), 'no-store')
  return (await res.json()) as Listed
}

describe('operator uploads and reconciliation', { timeout: 60_000 }, () => {
  const modes = [
    { name: 'embedded', skip: false as const, flags: async (): Promise<string[]> => [] },
    {
      name: 'cluster: records and manifests on a Redis of its own',
      skip: noRedisServer,
      flags: async (): Promise<string[]> => {
        const port = await freePort()
        await startRedis(port)
        return ['--redis-url', `redis://127.0.0.1:${port}`]
      },
    },
  ]
  for (const mode of modes) test(`uploads, ${mode.name}: a PATCH being received (receiving, offset so far), then paused (last write), then finished (gone from the list)`, { skip: mode.skip }, async () => {
    const gw = await start(await mode.flags())
    const length = 300_000
    const data = bytes(length, 7)
    const created = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': String(length) } })
    const url = created.headers.get('location')!
    const id = idOf(url)
    const port = Number(new URL(gw.origin).port)
    const stalled = await stalledPatch(port, new URL(url).pathname, 0, length, data.subarray(0, 160_000))
    // Full stripes are 16 KiB (4 × 4 KiB); those past the store's pipeline (4 stripes) are committed while the rest waits.
    const during = await entryWhen(gw, id, (u) => (u?.offset ?? 0) > 0)
    assert.equal(during.offset % 16_384, 0)
    assert.ok(during.offset < 160_000)
    assert.equal(during.receiving, true)
    assert.equal(during.length, length)
    assert.equal(during.lastWriteAt, null)

    stalled.socket.destroy()
    const paused = await entryWhen(gw, id, (u) => u?.receiving === false)
    assert.ok(paused.offset >= during.offset && paused.offset <= 160_000, String(paused.offset))
    assert.ok(Date.parse(paused.lastWriteAt!) > Date.parse(paused.createdAt) - 1)

    const rest = await patch(url, paused.offset, data.subarray(paused.offset))
    assert.equal(rest.status, 204, `${rest.status} ${await rest.text()} (resumed at ${paused.offset})`)
    assert.deepEqual((await listed(gw)).uploads.filter((u) => u.id === id), [], 'a finished upload is not in flight')
  })

  test('uploads: a Tessera attempt names its partition and attempt number; the list needs the token', async () => {
    const gw = await start()
    const url = await createAttempt(gw.endpoint, 'sess-1/0', 0, 1, bytes(5000, 3))
    const half = await patch(url, 0, bytes(5000, 3).subarray(0, 2000))
    assert.equal(half.status, 204)
    const entry = (await listed(gw)).uploads.find((u) => u.id === idOf(url))
    assert.deepEqual(entry?.partition, { id: 'sess-1/0', attempt: 1 })
    assert.equal(entry?.offset, 2000)
    assert.equal((await fetch(`${gw.origin}/_tessera/uploads`)).status, 401)
  })

  test('reconciliation: the latest events with their counts, from the end of the log; a torn line is skipped', async () => {
    const gw = await start()
    const file = bytes(3000, 5)
    const a = await createAttempt(gw.endpoint, 'sess-2/0', 0, 0, file)
    assert.equal((await patch(a, 0, file)).status, 204)
    const final = await postFinal(gw.endpoint, [a])
    assert.equal(final.status, 201)
    type Tail = { recent: { event: string; uploadId: string; time: string }[]; counts: Record<string, number> }
    const tail = async (): Promise<Tail> => (await (await fetch(`${gw.origin}/_tessera/reconciliation`, { headers: auth })).json()) as Tail
    let t: Tail | undefined
    await eventually(async () => ((t = await tail()).counts['final-created'] ?? 0) === 1)
    assert.deepEqual(t!.recent.map((e) => e.event), ['attempt-created', 'attempt-won', 'final-created'])
    assert.equal(t!.recent[1]!.uploadId, idOf(a))
    assert.deepEqual(t!.counts, { 'attempt-created': 1, 'attempt-won': 1, 'final-created': 1 })

    await appendFile(gw.config.reconciliationLog, '{"event":"attempt-cr')
    assert.deepEqual((await tail()).counts, t!.counts)
    // A log larger than the tail read: only whole lines of its end are read.
    const line = `${JSON.stringify({ time: new Date().toISOString(), event: 'attempt-lost', uploadId: 'x'.repeat(32), bytes: 1 })}\n`
    await writeFile(gw.config.reconciliationLog, line.repeat(Math.ceil((200 * 1024) / line.length)))
    const big = await tail()
    assert.equal(big.recent.length, 100)
    assert.equal(Object.keys(big.counts).join(), 'attempt-lost')
    assert.ok(big.counts['attempt-lost']! < (64 * 1024) / line.length + 1)
  })
})
