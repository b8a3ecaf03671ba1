// The durability engine inside a real gateway: a backend removed under it, a block rotted on its
// medium, a backend drained by migration, policy none — once over directories (real FsBackends in
// temp dirs) and once over buckets of a real S3 server (scripts/s3-local.sh). Real HTTP; progress
// is observed through the operator endpoint (GET /_tessera/durability), with hang guards only.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { migrateBlock } from '@tessera/storage'
import { fsMedium, s3Medium, type BackendMedium } from '../src/testing/index.js'
import { OCTET, TUS } from './helpers/gateway.js'
import { createAttempt, postFinal, sha256 } from './helpers/reconciliation.js'
import { startDurabilityGateway, total, type DurabilityGateway } from './helpers/durability-gateway.js'
import { describeS3 } from '@tessera/storage/testing'

const BLOCK = 4096
/** 2+1 over four backends: one spare, so a lost block has somewhere to go while its backend stays dead. */
const BACKENDS = 4
const GEOMETRY = ['--data-blocks', '2', '--parity-blocks', '1', '--block-size', '4KiB']

const open: DurabilityGateway[] = []
after(() => Promise.all(open.map((g) => g.close())))

async function upload(gw: DurabilityGateway, body: Uint8Array): Promise<string> {
  const created = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': String(body.length) } })
  assert.equal(created.status, 201)
  const url = created.headers.get('location')!
  const patched = await fetch(url, { method: 'PATCH', headers: { ...TUS, 'Content-Type': OCTET, 'Upload-Offset': '0' }, body })
  assert.equal(patched.status, 204)
  return url
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url)
  assert.equal(res.status, 200)
  return Buffer.from(await res.arrayBuffer())
}

const idOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1)

/** The tests over one kind of backend: `medium(dataDir)` makes the four backends of each gateway. */
function durabilityTests(medium: (dataDir: string) => BackendMedium): void {
  async function start(flags: readonly string[]): Promise<DurabilityGateway> {
    const gw = await startDurabilityGateway([...GEOMETRY, ...flags], { medium })
    open.push(gw)
    return gw
  }
  /** The fault reason a read of a block on a lost backend reports: its medium's (see BackendMedium.lostBlockFault). */
  const lostFault = (gw: DurabilityGateway): string => `read-${gw.medium.lostBlockFault}`

  test('a backend removed under a running gateway: GET serves the bytes, the engine regenerates every lost block elsewhere', async () => {
    // Scrub passes only when asked (below), so the regeneration the GET's fault causes is seen on its own.
    const gw = await start(['--durability', 'reactive', '--scrub-interval', '1h', '--evaluate-interval', '100ms', '--probe-interval', '100ms'])
    const lost = lostFault(gw)
    const body = randomBytes(5 * 2 * BLOCK - 1000) // five stripes
    const url = await upload(gw, body)
    const id = idOf(url)
    const before = await gw.manifest(id)
    const victim = before.stripes[0]!.blocks[0]!.backend // holds a data block the GET must read
    await gw.medium.lose(victim)

    assert.deepEqual(await download(url), body, 'degraded GET serves the exact bytes')
    let s = await gw.waitFor('regeneration after the read fault', (x) => x.recent.some((e) => e.action === 'regenerate' && e.outcome === 'done' && e.reason === lost && e.objectId === id))
    assert.ok(s.recent.some((e) => e.action === 'fault' && e.outcome === 'observed' && e.reason === lost && e.backend === victim), 'the GET reported the missing block')
    const line = gw.log.lines.find((l) => l.msg === 'durability action' && (l.obj as { action?: string }).action === 'regenerate')
    assert.equal(line?.level, 'info', 'each action is a log line at info')
    assert.equal((line!.obj as { reason?: string }).reason, lost)

    // Parity blocks on the dead backend are not read by a GET: the scrub finds those.
    await gw.gateway.durability.engine.scrubSoon('test')
    s = await gw.waitFor('every block moved off the dead backend', (x) => x.backends.find((b) => b.backend === victim)?.blocks === 0 && x.queue.waiting === 0 && x.queue.running === 0)
    assert.ok(total(s, 'regenerate', 'done') >= 1)
    assert.equal(total(s, 'regenerate', 'failed'), 0)
    // The summary reads the probes (every 100 ms here), and the moves can be done before the first
    // probe after the loss: wait for one to have failed.
    await gw.waitFor('a failed probe of the lost backend', (x) => x.backends.find((b) => b.backend === victim)?.lastProbe?.ok === false)
    const health = await fetch(`${gw.origin}/_tessera/health`)
    const summary = (await health.json()) as { status: string; backends: { down: string[] } }
    assert.equal(health.status, 200, 'three of four backends still take writes')
    assert.deepEqual(summary.backends.down, [victim])
    assert.equal(summary.status, 'degraded')

    const after1 = await gw.manifest(id)
    for (const stripe of after1.stripes) for (const b of stripe.blocks) assert.ok(b && b.backend !== victim, 'no block left on the dead backend')
    // The proof: lose a second backend. Without the regeneration, stripes on both would be gone (m = 1).
    const second = after1.stripes[0]!.blocks[1]!.backend
    await gw.medium.lose(second)
    assert.deepEqual(await download(url), body, 'still readable with two of four backends gone')

    // The scrub's verification times outlive the process: the ledger under the data dir names the stripes.
    await gw.gateway.durability.stop()
    const ledger = JSON.parse(await readFile(gw.config.durability.scrubLedger, 'utf8')) as Record<string, number>
    assert.ok(Object.keys(ledger).some((k) => k.startsWith(`${id}#`)), JSON.stringify(ledger))
  })

  test('a block rotted on its medium: the GET reports it corrupt, serves the right bytes, and the block is regenerated', async () => {
    const gw = await start(['--durability', 'reactive', '--scrub-interval', '1h', '--probe', 'none'])
    const body = randomBytes(2 * BLOCK - 10) // one stripe
    const url = await upload(gw, body)
    const id = idOf(url)
    const ref = (await gw.manifest(id)).stripes[0]!.blocks[0]!
    await gw.medium.corrupt(ref, 7)

    assert.deepEqual(await download(url), body, 'the corrupt block is read around')
    const s = await gw.waitFor('regeneration of the corrupt block', (x) => x.recent.some((e) => e.action === 'regenerate' && e.outcome === 'done' && e.reason === 'read-corrupt' && e.objectId === id && e.block === 0))
    assert.ok(s.recent.some((e) => e.action === 'fault' && e.reason === 'read-corrupt' && e.backend === ref.backend && e.stripe === 0 && e.block === 0))
    const now = (await gw.manifest(id)).stripes[0]!.blocks[0]!
    assert.notDeepEqual(now, ref, 'the manifest points at the regenerated block')
    const faults = total(s, 'fault', 'read-corrupt')

    assert.deepEqual(await download(url), body)
    await gw.gateway.durability.engine.idle()
    assert.equal(total(await gw.status(), 'fault', 'read-corrupt'), faults, 'the second GET found nothing to read around')
  })

  test('a partition that wins while a backend is gone: the running whole-file digest reports the blocks it reads around', async () => {
    const gw = await start(['--durability', 'reactive', '--scrub-interval', '1h', '--probe', 'none'])
    const lost = lostFault(gw)
    const data = randomBytes(4 * 2 * BLOCK)
    const url = await createAttempt(gw.endpoint, 'session-a/0', 0, 1, data, sha256(data), 'sha256')
    const half = 2 * 2 * BLOCK
    const first = await fetch(url, { method: 'PATCH', headers: { ...TUS, 'Content-Type': OCTET, 'Upload-Offset': '0' }, body: data.subarray(0, half) })
    assert.equal(first.status, 204)
    const id = idOf(url)
    const victim = (await gw.manifest(id)).stripes[0]!.blocks[0]!.backend
    await gw.medium.lose(victim)
    // Completing the attempt makes it win its partition; the session digest then reads it back (no GET anywhere).
    const second = await fetch(url, { method: 'PATCH', headers: { ...TUS, 'Content-Type': OCTET, 'Upload-Offset': String(half) }, body: data.subarray(half) })
    assert.equal(second.status, 204)
    const s = await gw.waitFor('the digest read reported the missing block', (x) => x.recent.some((e) => e.action === 'fault' && e.reason === lost && e.objectId === id && e.stripe === 0 && e.block === 0 && e.backend === victim))
    assert.equal(total(s, 'regenerate', 'planned') >= 1, true)
    const final = await postFinal(gw.endpoint, [url], { 'tessera-sha256': sha256(data) })
    assert.equal(final.status, 201, await final.text())
    assert.deepEqual(await download(final.headers.get('location')!), data)
  })

  test('a backend drained by migration while the gateway serves: every block copied and verified elsewhere, whole blocks deleted, and the drained backend can go', async () => {
    const gw = await start(['--durability', 'none', '--probe', 'none'])
    const bodies = new Map<string, Buffer>()
    for (const stripes of [1, 3, 4]) {
      const body = randomBytes(stripes * 2 * BLOCK - 123)
      bodies.set(await upload(gw, body), body)
    }
    const ids = [...bodies.keys()].map(idOf)
    const drained = (await gw.manifest(ids[0]!)).stripes[0]!.blocks[0]!.backend
    const all = gw.gateway.store.options.backends.map((b) => b.id)
    const results = []
    for (const id of ids) {
      for (const [s, stripe] of (await gw.manifest(id)).stripes.entries()) {
        for (const [b, ref] of stripe.blocks.entries()) {
          if (ref?.backend !== drained) continue
          const target = all.find((x) => x !== drained && !stripe.blocks.some((o) => o?.backend === x))!
          const result = await migrateBlock(gw.gateway.store, id, s, b, target)
          assert.equal(result.via, 'copy', 'an intact block is copied, not regenerated')
          assert.equal(result.to.backend, target)
          // A whole block is deleted once the manifest points at its copy; one inside a segment stays for the segment's owner.
          assert.equal(result.deletedOld, result.from.offset === undefined)
          results.push(result)
        }
      }
    }
    assert.ok(results.length >= 3, `${results.length} blocks moved`)
    for (const id of ids) {
      for (const stripe of (await gw.manifest(id)).stripes) assert.ok(stripe.blocks.every((x) => x && x.backend !== drained), `${id}: no block left on ${drained}`)
    }
    const kept = new Set(results.filter((r) => !r.deletedOld).map((r) => r.from.key))
    const left = (await gw.medium.keys(drained)).filter((k) => ids.some((id) => k.startsWith(`${id}/`)))
    assert.deepEqual(left.filter((k) => !kept.has(k)), [], 'nothing of the drained blocks is left on the medium but kept segments')
    for (const [url, body] of bodies) assert.deepEqual(await download(url), body, 'served from the new places')

    // The proof: the drained backend goes, and so does another (m = 1): every stripe still has two of its three blocks.
    await gw.medium.lose(drained)
    await gw.medium.lose(all.find((x) => x !== drained)!)
    for (const [url, body] of bodies) assert.deepEqual(await download(url), body, 'readable without the drained backend')
  })

  test('policy none: faults are observed and reported, nothing is repaired', async () => {
    const gw = await start(['--durability', 'none', '--evaluate-interval', '100ms', '--probe-interval', '100ms'])
    const lost = lostFault(gw)
    const body = randomBytes(3 * 2 * BLOCK)
    const url = await upload(gw, body)
    const id = idOf(url)
    const before = await gw.manifest(id)
    const victim = before.stripes[0]!.blocks[0]!.backend
    await gw.medium.lose(victim)

    assert.deepEqual(await download(url), body)
    // Evaluations keep running (health and risk are still tracked): wait for a few after the fault.
    const seen = await gw.waitFor('the fault observed', (x) => x.recent.some((e) => e.action === 'fault' && e.reason === lost))
    await gw.waitFor('two more evaluations', (x) => x.evaluations >= seen.evaluations + 2)
    await gw.gateway.durability.engine.idle()
    const s = await gw.status()
    assert.equal(s.policy, 'none')
    assert.equal(s.totals['regenerate'], undefined)
    assert.equal(s.totals['scrub'], undefined)
    assert.equal(s.queue.waiting + s.queue.running, 0)
    assert.deepEqual(await gw.manifest(id), before, 'no manifest changed')
  })
}

describe('durability in the gateway, over directories', { timeout: 60_000 }, () => durabilityTests((dataDir) => fsMedium(Array.from({ length: BACKENDS }, (_, i) => join(dataDir, `b${i}`)))))
describeS3('durability in the gateway, over S3 buckets', { timeout: 60_000 }, (env) => durabilityTests(() => s3Medium(env, BACKENDS, 'dur')))
