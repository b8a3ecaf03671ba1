// GET/HEAD /_tessera/live and /_tessera/ready over a real gateway: ready follows the writable
// backends (directories removed behind the gateway's back until fewer than the write quorum are
// left) and, in a cluster, a Redis of the test's own that it kills and restarts; both stay open
// with --operator-token set, which guards every other /_tessera path.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { startDurabilityGateway, type DurabilityGateway } from './helpers/durability-gateway.js'
import { eventually } from './helpers/gateway.js'
import { freePort, noRedisServer, startRedis, stopAllRedis, stopRedis } from './helpers/redis-server.js'

const TOKEN = 'probe-test-operator-token'

const open: DurabilityGateway[] = []
after(async () => {
  await Promise.all(open.map((g) => g.close()))
  await stopAllRedis()
})

async function start(flags: readonly string[] = []): Promise<DurabilityGateway> {
  const gw = await startDurabilityGateway(['--block-size', '4KiB', ...flags])
  open.push(gw)
  return gw
}

interface Ready {
  status: string
  checks: { backends: { ok: boolean; up: number; total: number; needed: number }; redis?: { ok: boolean } }
}

async function ready(gw: DurabilityGateway): Promise<{ status: number; body: Ready }> {
  const res = await fetch(`${gw.origin}/_tessera/ready`)
  return { status: res.status, body: (await res.json()) as Ready }
}

describe('probes', { timeout: 60_000 }, () => {
  test('live and ready: 200, small JSON, no-store, HEAD too, no token needed when one is set; other methods 405', async () => {
    const gw = await start(['--operator-token', TOKEN])
    const live = await fetch(`${gw.origin}/_tessera/live`)
    assert.equal(live.status, 200)
    assert.equal(live.headers.get('cache-control'), 'no-store')
    assert.match(live.headers.get('content-type') ?? '', /^application\/json/)
    assert.deepEqual(await live.json(), { status: 'live' })
    assert.deepEqual(await ready(gw), { status: 200, body: { status: 'ready', checks: { backends: { ok: true, up: 6, total: 6, needed: 5 } } } })
    for (const path of ['/_tessera/live', '/_tessera/ready']) {
      const head = await fetch(`${gw.origin}${path}`, { method: 'HEAD' })
      assert.equal(head.status, 200, path)
      assert.equal(await head.text(), '')
      const post = await fetch(`${gw.origin}${path}`, { method: 'POST' })
      assert.equal(post.status, 405, path)
      assert.equal(post.headers.get('allow'), 'GET, HEAD')
    }
  })

  test('--operator-token guards every other /_tessera path, unknown ones too (401 before 404); none of them answers CORS', async () => {
    const gw = await start(['--operator-token', TOKEN])
    for (const path of ['/_tessera/health', '/_tessera/durability', '/_tessera/uploads', '/_tessera/reconciliation', '/_tessera/nothing-here', '/_tessera']) {
      const none = await fetch(`${gw.origin}${path}`, { headers: { origin: 'https://app.example' } })
      assert.equal(none.status, 401, path)
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /, path)
      assert.equal(none.headers.get('access-control-allow-origin'), null, path)
      const wrong = await fetch(`${gw.origin}${path}`, { headers: { authorization: `Bearer ${TOKEN}-not` } })
      assert.equal(wrong.status, 401, path)
      const right = await fetch(`${gw.origin}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, origin: 'https://app.example' } })
      assert.equal(right.status, path.includes('nothing') || path === '/_tessera' ? 404 : 200, path)
      assert.equal(right.headers.get('access-control-allow-origin'), null, path)
    }
  })

  test('ready follows the writable backends: one of 6 removed → still ready (5 = the write quorum); two removed → 503 unready', async () => {
    const gw = await start(['--probe-interval', '50ms'])
    await gw.medium.lose(await gw.medium.idOf(0))
    await gw.waitFor('a failed probe of the removed backend', (s) => s.backends.some((b) => b.lastProbe?.ok === false))
    assert.deepEqual(await ready(gw), { status: 200, body: { status: 'ready', checks: { backends: { ok: true, up: 5, total: 6, needed: 5 } } } })
    await gw.medium.lose(await gw.medium.idOf(1))
    await gw.waitFor('failed probes of both removed backends', (s) => s.backends.filter((b) => b.lastProbe?.ok === false).length === 2)
    assert.deepEqual(await ready(gw), { status: 503, body: { status: 'unready', checks: { backends: { ok: false, up: 4, total: 6, needed: 5 } } } })
    assert.equal((await fetch(`${gw.origin}/_tessera/live`)).status, 200, 'still live: restarting would not bring the disks back')
  })

  test('while shutting down: ready 503 "stopping", live still 200 (the process drains)', async () => {
    const gw = await start()
    gw.gateway.context.shutdown()
    const r = await ready(gw)
    assert.equal(r.status, 503)
    assert.equal(r.body.status, 'stopping')
    assert.equal((await fetch(`${gw.origin}/_tessera/live`)).status, 200)
  })

  test('scale-out: ready needs the cluster Redis — a real PING; 503 once it is killed, 200 again once it is back', { skip: noRedisServer }, async () => {
    const port = await freePort()
    const redis = await startRedis(port)
    const gw = await start(['--redis-url', `redis://127.0.0.1:${port}`, '--redis-prefix', `probes-${process.pid}`])
    assert.deepEqual(await ready(gw), { status: 200, body: { status: 'ready', checks: { backends: { ok: true, up: 6, total: 6, needed: 5 }, redis: { ok: true } } } })
    await stopRedis(redis)
    let last: { status: number; body: Ready } | undefined
    await eventually(async () => (last = await ready(gw)).status === 503, 10_000)
    assert.deepEqual(last!.body, { status: 'unready', checks: { backends: { ok: true, up: 6, total: 6, needed: 5 }, redis: { ok: false } } })
    assert.equal((await fetch(`${gw.origin}/_tessera/live`)).status, 200)
    assert.ok(gw.log.lines.some((l) => l.level === 'warn' && l.msg === 'readiness: redis unreachable'))
    await startRedis(port)
    await eventually(async () => (await ready(gw)).status === 200, 10_000)
  })
})
