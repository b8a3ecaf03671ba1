// GET /_tessera/health and GET /_tessera/durability answer the documented JSON (README
// "Operator endpoints"), over a real gateway on a free port. The probes (live, ready): probes.test.ts.
import assert from 'node:assert/strict'
import { access } from 'node:fs/promises'
import { after, describe, test } from 'node:test'
import { OCTET, TUS } from './helpers/gateway.js'
import { startDurabilityGateway, type DurabilityGateway } from './helpers/durability-gateway.js'

const open: DurabilityGateway[] = []
after(() => Promise.all(open.map((g) => g.close())))

async function start(flags: readonly string[] = [], options: { start?: boolean } = {}): Promise<DurabilityGateway> {
  const gw = await startDurabilityGateway(['--block-size', '4KiB', ...flags], options)
  open.push(gw)
  return gw
}

describe('operator endpoints', { timeout: 60_000 }, () => {
  test('GET /_tessera/health: ok, ready, every backend up, the policy; 200, JSON, not cached', async () => {
    const gw = await start()
    const res = await fetch(`${gw.origin}/_tessera/health`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
    assert.equal(res.headers.get('cache-control'), 'no-store')
    assert.deepEqual(await res.json(), {
      status: 'ok',
      live: true,
      ready: true,
      policy: 'reactive',
      running: true,
      backends: { total: 6, up: 6, writeQuorum: 5, down: [], atRisk: [] },
      queue: { waiting: 0, running: 0 },
      recentFailures: 0,
      objectsAtRisk: 0,
    })
  })

  test('GET /_tessera/durability: per-backend health and risk, priority list, queue, totals, recent actions', async () => {
    const gw = await start(['--durability', 'predictive', '--evaluate-interval', '100ms', '--probe-interval', '100ms', '--health-window', '100ms'])
    const created = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '20000' } })
    const patched = await fetch(created.headers.get('location')!, { method: 'PATCH', headers: { ...TUS, 'Content-Type': OCTET, 'Upload-Offset': '0' }, body: new Uint8Array(20000) })
    assert.equal(patched.status, 204)
    const patchedAt = Date.now()
    // Probes, one closed window and an evaluation that started after the PATCH was answered (one
    // that started before it may have listed the object with no stripes yet).
    const s = await gw.waitFor(
      'an evaluation after the upload, and a probe of every backend',
      (x) => x.lastEvaluationMs !== null && x.lastEvaluationMs > patchedAt && x.objects === 1 && x.backends.every((b) => b.lastProbe !== null && b.latest !== null),
    )
    assert.equal(s.policy, 'predictive')
    assert.equal(s.running, true)
    assert.equal(s.backends.length, 6)
    for (const b of s.backends) {
      assert.match(b.backend, /^fs-[0-9a-f]{12}$/)
      assert.equal(b.lastProbe!.ok, true)
      assert.equal(b.risk.backend, b.backend)
      assert.ok(b.risk.probability >= 0 && b.risk.probability <= 1)
      assert.equal(b.risk.unavailable, false)
      assert.equal(typeof b.blocks, 'number')
      assert.ok(b.capacity === null || typeof b.capacity.freeBytes === 'number' || b.capacity.freeBytes === null)
    }
    assert.equal(s.backends.reduce((n, b) => n + b.blocks, 0), 6 * Math.ceil(20000 / (4 * 4096)), 'every block of the upload is counted on its backend')
    assert.equal(s.priority.length, 1)
    assert.equal(s.priority[0]!.parityBlocks, 2)
    assert.ok(s.priority[0]!.probability >= 0 && s.priority[0]!.probability <= 1)
    assert.deepEqual(s.queue, { waiting: s.queue.waiting, running: s.queue.running, paused: false })
    assert.ok(s.io.foreground.bytesWritten > 0, 'the upload went through the observed backends')
    assert.ok(s.io.probe.ops > 0)
    assert.ok(Array.isArray(s.recent))
    assert.equal(typeof s.totals, 'object')
  })

  test('read-only: other methods answer 405 with Allow', async () => {
    const gw = await start()
    for (const path of ['/_tessera/health', '/_tessera/durability']) {
      const res = await fetch(`${gw.origin}${path}`, { method: 'POST', headers: TUS })
      assert.equal(res.status, 405)
      assert.equal(res.headers.get('allow'), 'GET, HEAD')
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_METHOD_NOT_ALLOWED')
    }
  })

  test('no CORS headers: a browser on another origin cannot read them', async () => {
    const gw = await start()
    const res = await fetch(`${gw.origin}/_tessera/health`, { headers: { origin: 'https://elsewhere.example' } })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
  })

  test('--operator-token guards /_tessera/durability and /_tessera/health (401 without or with a wrong token); the probes stay open', async () => {
    const token = 'a-long-operator-token-1234'
    const gw = await start(['--operator-token', token])
    for (const path of ['/_tessera/durability', '/_tessera/health']) {
      const none = await fetch(`${gw.origin}${path}`)
      assert.equal(none.status, 401, path)
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /)
      assert.equal(none.headers.get('tessera-error-code'), 'TESSERA_ERR_UNAUTHORIZED')
      const wrong = await fetch(`${gw.origin}${path}`, { headers: { authorization: `Bearer ${token}x` } })
      assert.equal(wrong.status, 401, path)
    }
    assert.equal((await gw.status(token)).policy, 'reactive')
    assert.equal((await fetch(`${gw.origin}/_tessera/health`, { headers: { authorization: `Bearer ${token}` } })).status, 200)
    assert.equal((await fetch(`${gw.origin}/_tessera/ready`)).status, 200)
  })

  test('while shutting down, health answers 503 "stopping" (the tus routes answer 503 too)', async () => {
    const gw = await start()
    gw.gateway.context.shutdown()
    const res = await fetch(`${gw.origin}/_tessera/health`)
    assert.equal(res.status, 503)
    const body = (await res.json()) as { status: string; ready: boolean; live: boolean }
    assert.equal(body.status, 'stopping')
    assert.equal(body.ready, false)
    assert.equal(body.live, true)
    assert.equal((await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '1' } })).status, 503)
  })

  test('a gateway built but not started reports running: false and does no background work', async () => {
    const gw = await start(['--probe-interval', '10ms'], { start: false })
    const s = await gw.status()
    assert.equal(s.running, false)
    assert.equal(s.evaluations, 0)
    assert.ok(s.backends.every((b) => b.lastProbe === null))
  })

  test('close() saves the scrub ledger where --scrub-ledger says', async () => {
    const gw = await start(['--scrub-ledger', 'ledger/scrub.json'])
    await gw.gateway.durability.stop()
    await access(gw.config.durability.scrubLedger)
    assert.ok(gw.config.durability.scrubLedger.endsWith('/ledger/scrub.json'))
    assert.equal((await gw.status()).running, false)
  })
})
