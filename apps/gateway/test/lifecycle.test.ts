// The upload lifecycle event source (lifecycle/upload-lifecycle.ts) that metrics and hooks listen
// to, over a real gateway on an injected clock: what each upload reports, in order, once each; a
// listener that throws fails nothing.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { sweepExpired } from '../src/expiry-sweep.js'
import type { UploadEvent } from '../src/lifecycle/upload-lifecycle.js'
import { TUS, bytes, create, idOf, patch, startGateway, type TestGateway } from './helpers/gateway.js'

const open: TestGateway[] = []
after(() => Promise.all(open.map((g) => g.close())))

/** A gateway on `clock` and every lifecycle event it reports, as `[type, upload id, detail]`. */
async function observed(clock: () => number): Promise<{ gw: TestGateway; events: [string, string, unknown][] }> {
  const gw = await startGateway(['--block-size', '4KiB', '--expire-after', '1h'], { now: clock })
  open.push(gw)
  const events: [string, string, unknown][] = []
  const detail = (e: UploadEvent): unknown => (e.type === 'received' ? [e.bytes, e.offset] : e.type === 'terminated' ? e.reason : e.type === 'expired' ? null : e.offset)
  gw.app.context.lifecycle.subscribe((e) => events.push([e.type, e.upload.id, detail(e)]))
  return { gw, events }
}

describe('upload lifecycle', () => {
  test('created, received per write, finished once; terminated on DELETE; expired by the sweep; lock waits', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z')
    const { gw, events } = await observed(() => now)
    const waits: boolean[] = []
    gw.app.context.lifecycle.onLockWait((w) => waits.push(w.acquired))

    const url = await create(gw, { 'Upload-Length': '300' })
    assert.equal((await patch(url, 0, bytes(100))).status, 204)
    assert.equal((await patch(url, 100, bytes(200))).status, 204)
    assert.equal((await patch(url, 300, new Uint8Array(0))).status, 204) // on a finished upload: no second `finished`
    const deleted = await create(gw, { 'Upload-Defer-Length': '1' })
    assert.equal((await fetch(deleted, { method: 'DELETE', headers: TUS })).status, 204)
    const lapsing = await create(gw, { 'Upload-Length': '10' })
    now += 3600e3
    await sweepExpired(gw.app.context)
    const empty = await create(gw, { 'Upload-Length': '0' }) // finished at creation

    const [a, d, x, z] = [url, deleted, lapsing, empty].map(idOf)
    assert.deepEqual(events, [
      ['created', a, 0],
      ['received', a, [100, 100]],
      ['received', a, [200, 300]],
      ['finished', a, 300],
      ['received', a, [0, 300]],
      ['created', d, 0],
      ['terminated', d, 'terminated'],
      ['created', x, 0],
      ['expired', x, null],
      ['created', z, 0],
      ['finished', z, 0],
    ])
    assert.deepEqual(waits, [true, true, true, true])
  })

  test('a listener that throws fails no request, and the others still hear every event', async () => {
    const { gw, events } = await observed(Date.now)
    gw.app.context.lifecycle.subscribe(() => {
      throw new Error('a broken listener')
    })
    const url = await create(gw, { 'Upload-Length': '10' })
    assert.equal((await patch(url, 0, bytes(10))).status, 204)
    assert.deepEqual(events.map(([type]) => type), ['created', 'received', 'finished'])
    assert.deepEqual(gw.log.errors, [])
  })
})
