// GET /metrics (docs/metrics.md): Prometheus text that a strict parser accepts, behind the operator
// token, moving exactly as uploads happen — over a real gateway on a free port.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { TUS, bytes, create, download, eventually, idOf, patch, startGateway, type TestGateway } from './helpers/gateway.js'
import { startDurabilityGateway } from './helpers/durability-gateway.js'
import { parsePrometheusText, type Exposition } from './helpers/prometheus-text.js'
import { createAttempt, postFinal, sha256 } from './helpers/reconciliation.js'

const TOKEN = 'metrics-test-operator-token'
const open: { close(): Promise<void> }[] = []
after(() => Promise.all(open.map((g) => g.close())))

async function start(flags: readonly string[] = []): Promise<TestGateway> {
  const gw = await startGateway(['--block-size', '4KiB', '--operator-token', TOKEN, ...flags])
  open.push(gw)
  return gw
}

async function scrape(gw: TestGateway): Promise<Exposition> {
  const res = await fetch(`${gw.origin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return parsePrometheusText(await res.text())
}

/** How far the sample `name` with exactly `labels` moved between two scrapes. */
function moved(before: Exposition, after: Exposition, name: string, labels: Record<string, string> = {}): number {
  return after.value(name, labels) - before.value(name, labels)
}

describe('GET /metrics', { timeout: 60_000 }, () => {
  test('401 with WWW-Authenticate without the operator token, or with another; never CORS', async () => {
    const gw = await start()
    for (const headers of [{}, { authorization: 'Bearer not-the-operator-token' }, { authorization: `Basic ${TOKEN}` }] as Record<string, string>[]) {
      const res = await fetch(`${gw.origin}/metrics`, { headers: { origin: 'https://app.example', ...headers } })
      assert.equal(res.status, 401)
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_UNAUTHORIZED')
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /)
      assert.equal(res.headers.get('access-control-allow-origin'), null)
    }
    const ok = await fetch(`${gw.origin}/metrics`, { headers: { origin: 'https://app.example', authorization: `Bearer ${TOKEN}` } })
    assert.equal(ok.status, 200)
    assert.equal(ok.headers.get('access-control-allow-origin'), null)
    assert.equal(ok.headers.get('cache-control'), 'no-store')
    // A browser's preflight gets no CORS answer either; other methods 405 (after the token).
    const preflight = await fetch(`${gw.origin}/metrics`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } })
    assert.equal(preflight.status, 401)
    assert.equal(preflight.headers.get('access-control-allow-origin'), null)
    const post = await fetch(`${gw.origin}/metrics`, { method: 'POST', headers: { origin: 'https://app.example', authorization: `Bearer ${TOKEN}` } })
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('allow'), 'GET, HEAD')
    assert.equal(post.headers.get('access-control-allow-origin'), null)
  })

  test('--metrics=false: no /metrics', async () => {
    const gw = await start(['--metrics=false'])
    const res = await fetch(`${gw.origin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    assert.equal(res.status, 404)
  })

  test('a known upload moves the request, byte, upload and lock figures by exactly what it did', async () => {
    const gw = await start()
    const before = await scrape(gw)
    const body = bytes(10_000, 7)
    const url = await create(gw, { 'Upload-Length': String(body.length) })
    assert.equal((await patch(url, 0, body.subarray(0, 6_000))).status, 204)
    assert.equal((await patch(url, 6_000, body.subarray(6_000))).status, 204)
    assert.deepEqual(await download(url), body)
    const doomed = await create(gw, { 'Upload-Defer-Length': '1' })
    assert.equal((await patch(doomed, 0, bytes(300))).status, 204)
    assert.equal((await fetch(doomed, { method: 'DELETE', headers: TUS })).status, 204)
    const m = await scrape(gw)

    const route = `${gw.config.basePath}/:id`
    assert.equal(moved(before, m, 'tessera_http_request_duration_seconds_count', { method: 'POST', route: gw.config.basePath, status: '201' }), 2)
    assert.equal(moved(before, m, 'tessera_http_request_duration_seconds_count', { method: 'PATCH', route, status: '204' }), 3)
    assert.equal(moved(before, m, 'tessera_http_request_duration_seconds_count', { method: 'GET', route, status: '200' }), 1)
    assert.equal(moved(before, m, 'tessera_http_request_duration_seconds_count', { method: 'DELETE', route, status: '204' }), 1)
    assert.equal(moved(before, m, 'tessera_received_bytes_total'), 10_300)
    assert.equal(moved(before, m, 'tessera_served_bytes_total'), 10_000)
    assert.equal(moved(before, m, 'tessera_uploads_created_total', { kind: 'single' }), 2)
    assert.equal(moved(before, m, 'tessera_uploads_finished_total', { kind: 'single' }), 1)
    assert.equal(moved(before, m, 'tessera_upload_duration_seconds_count', { kind: 'single' }), 1)
    assert.equal(moved(before, m, 'tessera_uploads_terminated_total', { reason: 'terminated' }), 1)
    assert.equal(moved(before, m, 'tessera_lock_wait_seconds_count', { outcome: 'acquired' }), 4)
    assert.equal(m.value('tessera_uploads_in_flight'), 0)
    // The GET read each stripe of the upload once, no block more than it needed: no hedge on healthy backends.
    const manifest = await gw.deps!.store.options.manifests.get(idOf(url))
    assert.equal(moved(before, m, 'tessera_read_stripes_total'), manifest!.stripes.length)
    assert.equal(moved(before, m, 'tessera_read_blocks_total'), moved(before, m, 'tessera_read_blocks_needed_total'))
    assert.ok(moved(before, m, 'tessera_read_blocks_needed_total') >= 3)
    assert.equal(m.types.get('tessera_read_hedges_total'), 'counter')
    // Route labels are patterns: no sample anywhere names an upload id.
    const ids = [idOf(url), idOf(doomed)]
    assert.ok(m.samples.every((s) => ids.every((id) => !Object.values(s.labels).some((v) => v.includes(id)))))
    // The histogram's buckets are cumulative and end at +Inf = count.
    const patches = m.find('tessera_http_request_duration_seconds_bucket', { method: 'PATCH', route, status: '204' })
    assert.equal(patches.at(-1)!.labels['le'], '+Inf')
    assert.equal(patches.at(-1)!.value, m.value('tessera_http_request_duration_seconds_count', { method: 'PATCH', route, status: '204' }))
    assert.ok(patches.every((s, i) => i === 0 || s.value >= patches[i - 1]!.value))
  })

  test('the durability engine, per backend and in total, and the process, read at scrape time', async () => {
    const gw = await start()
    const m = await scrape(gw)
    const backends = m.find('tessera_backend_up')
    assert.equal(backends.length, 6)
    assert.ok(backends.every((s) => /^fs-[0-9a-f]{12}$/.test(s.labels['backend']!) && s.value === 1))
    assert.equal(m.find('tessera_backend_unavailable_probability').length, 6)
    assert.equal(m.find('tessera_backend_blocks').length, 6)
    assert.equal(m.types.get('tessera_backend_latency_seconds'), 'gauge')
    assert.equal(m.value('tessera_repair_queue_tasks', { state: 'waiting' }), 0)
    assert.equal(m.value('tessera_repair_queue_tasks', { state: 'running' }), 0)
    assert.equal(m.types.get('tessera_durability_actions_total'), 'counter')
    assert.equal(m.types.get('tessera_scrub_stripes_verified_total'), 'counter')
    // prom-client counts process CPU from the registry's creation, in the kernel's ticks: it may still read 0 here.
    assert.equal(m.types.get('tessera_process_cpu_user_seconds_total'), 'counter')
    assert.equal(m.find('tessera_process_cpu_user_seconds_total').length, 1)
    assert.ok(m.find('tessera_nodejs_heap_size_used_bytes').length === 1)
    // Every family is Tessera's, with its unit in the name.
    assert.ok([...m.types.keys()].every((name) => name.startsWith('tessera_')))
  })

  test('the durability counters move as the engine works: operations per closed health window, a scrub pass verifying the stripes', async () => {
    const gw = await startDurabilityGateway(['--block-size', '4KiB', '--health-window', '100ms', '--probe-interval', '100ms', '--scrub-interval', '200ms'])
    open.push(gw)
    const created = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '40000' } })
    assert.equal((await patch(created.headers.get('location')!, 0, bytes(40_000))).status, 204)
    const stripes = (await gw.manifest(idOf(created.headers.get('location')!))).stripes.length
    const metrics = async (): Promise<Exposition> => parsePrometheusText(await (await fetch(`${gw.origin}/metrics`)).text())
    await eventually(async () => (await metrics()).value('tessera_scrub_stripes_verified_total') >= stripes, 20_000)
    const m = await metrics()
    const ops = m.find('tessera_backend_operations_total')
    assert.equal(ops.length, 6)
    assert.ok(ops.every((s) => s.value > 0))
    const errors = m.find('tessera_backend_errors_total')
    assert.equal(errors.length, 6, 'one error count per backend')
    assert.ok(errors.every((s) => s.value === 0))
    assert.ok(m.value('tessera_durability_actions_total', { kind: 'scrub', outcome: 'done' }) >= 1)
    assert.equal(m.value('tessera_scrub_faults_total'), 0)
    assert.ok(m.value('tessera_backend_io_bytes_total', { purpose: 'foreground', direction: 'written' }) > 40_000)
  })

  test('reconciliation outcomes: a hedged partition won by one attempt, the other superseded, the final verified', async () => {
    const gw = await start()
    const before = await scrape(gw)
    const data = bytes(5_000, 3)
    const slow = await createAttempt(gw.endpoint, 'metrics-session/0', 0, 0, data)
    assert.equal((await patch(slow, 0, data.subarray(0, 1_000))).status, 204)
    const fast = await createAttempt(gw.endpoint, 'metrics-session/0', 0, 1, data)
    assert.equal((await patch(fast, 0, data)).status, 204)
    await eventually(async () => moved(before, await scrape(gw), 'tessera_reconciliation_attempts_total', { outcome: 'superseded' }) === 1)
    const final = await postFinal(gw.endpoint, [fast], { 'tessera-sha256': sha256(data) })
    assert.equal(final.status, 201)
    const m = await scrape(gw)
    assert.equal(moved(before, m, 'tessera_reconciliation_attempts_total', { outcome: 'created' }), 2)
    assert.equal(moved(before, m, 'tessera_reconciliation_attempts_total', { outcome: 'won' }), 1)
    assert.equal(moved(before, m, 'tessera_reconciliation_attempt_bytes_total', { outcome: 'won' }), 5_000)
    assert.equal(moved(before, m, 'tessera_reconciliation_attempt_bytes_total', { outcome: 'superseded' }), 1_000)
    assert.equal(moved(before, m, 'tessera_reconciliation_finals_total', { outcome: 'verified' }), 1)
    assert.equal(moved(before, m, 'tessera_uploads_terminated_total', { reason: 'superseded' }), 1)
    assert.equal(moved(before, m, 'tessera_uploads_created_total', { kind: 'partial' }), 2)
    assert.equal(moved(before, m, 'tessera_uploads_created_total', { kind: 'final' }), 1)
    assert.equal(moved(before, m, 'tessera_uploads_finished_total', { kind: 'final' }), 1)
  })
})
