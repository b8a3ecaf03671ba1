// Locking over the wire: a stalled PATCH holds the upload until another request for it asks it to
// release; it then commits what it received and answers. Graceful shutdown does the same.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { TUS, bytes, create, download, head, idOf, offsetOf, parseRawResponse, patch, stalledPatch, startGateway, waitForStalledWrite, type TestGateway } from './helpers/gateway.js'

const HANG_GUARD = { timeout: 20_000 }

describe('locking', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB'])
  })
  after(() => gw.close())

  test('a HEAD makes a stalled PATCH release: HEAD reports the committed bytes, a PATCH from there succeeds', HANG_GUARD, async () => {
    const body = bytes(60_000, 41)
    const url = await create(gw, { 'Upload-Length': String(body.length) })
    const path = new URL(url).pathname
    // Headers declare 60 000 bytes; 25 000 arrive (more than one 16 KiB stripe, and a partial one).
    const stalled = await stalledPatch(gw.port, path, 0, body.length, body.subarray(0, 25_000))
    // Let the gateway take the lock and read what was sent.
    await waitForStalledWrite(gw, stalled)

    const h = await head(url)
    assert.equal(h.status, 200)
    const offset = Number(h.headers.get('upload-offset'))
    // Everything the stalled request delivered is committed (none of it lost, nothing invented).
    assert.equal(offset, 25_000)

    const answer = parseRawResponse(await stalled.response)
    assert.equal(answer.status, 204)
    assert.equal(answer.headers.get('upload-offset'), String(offset))
    stalled.socket.destroy()

    const rest = await patch(url, offset, body.subarray(offset))
    assert.equal(rest.status, 204)
    assert.equal(rest.headers.get('upload-offset'), String(body.length))
    assert.deepEqual(await download(url), body)
  })

  test('a resuming PATCH makes a stalled PATCH release too; the stale offset gets 409, the true one 204', HANG_GUARD, async () => {
    const body = bytes(40_000, 42)
    const url = await create(gw, { 'Upload-Length': String(body.length) })
    const stalled = await stalledPatch(gw.port, new URL(url).pathname, 0, body.length, body.subarray(0, 10_000))
    await waitForStalledWrite(gw, stalled)
    // The client believes nothing arrived and retries from 0.
    const retry = await patch(url, 0, body)
    assert.equal(retry.status, 409)
    assert.equal(parseRawResponse(await stalled.response).status, 204)
    stalled.socket.destroy()
    const offset = await offsetOf(url)
    assert.equal(offset, 10_000)
    assert.equal((await patch(url, offset, body.subarray(offset))).status, 204)
    assert.deepEqual(await download(url), body)
  })

  test('a client that disconnects mid-PATCH keeps what it sent', HANG_GUARD, async () => {
    const body = bytes(30_000, 43)
    const url = await create(gw, { 'Upload-Length': String(body.length) })
    const stalled = await stalledPatch(gw.port, new URL(url).pathname, 0, body.length, body.subarray(0, 20_000))
    await waitForStalledWrite(gw, stalled)
    stalled.socket.destroy()
    // The lock is free again once the request wound up; HEAD sees the bytes.
    let offset = 0
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && (offset = await offsetOf(url)) !== 20_000) await new Promise((r) => setTimeout(r, 20))
    assert.equal(offset, 20_000)
    assert.equal((await patch(url, offset, body.subarray(offset))).status, 204)
    assert.deepEqual(await download(url), body)
  })

  test('a stalled checksummed PATCH that is asked to release commits nothing', HANG_GUARD, async () => {
    const body = bytes(40_000, 44)
    const url = await create(gw, { 'Upload-Length': String(body.length) })
    const { createHash } = await import('node:crypto')
    const sum = createHash('sha1').update(body).digest('base64')
    const stalled = await stalledPatch(gw.port, new URL(url).pathname, 0, body.length, body.subarray(0, 30_000), { 'Upload-Checksum': `sha1 ${sum}` })
    await waitForStalledWrite(gw, stalled)
    assert.equal(await offsetOf(url), 0)
    await stalled.response
    stalled.socket.destroy()
    assert.equal((await patch(url, 0, body, { 'Upload-Checksum': `sha1 ${sum}` })).status, 204)
    assert.deepEqual(await download(url), body)
  })

  test('a DELETE makes a stalled PATCH release and then terminates the upload', HANG_GUARD, async () => {
    const url = await create(gw, { 'Upload-Length': '50000' })
    const stalled = await stalledPatch(gw.port, new URL(url).pathname, 0, 50_000, bytes(20_000))
    await waitForStalledWrite(gw, stalled)
    assert.equal((await fetch(url, { method: 'DELETE', headers: TUS })).status, 204)
    await stalled.response
    stalled.socket.destroy()
    assert.equal((await head(url)).status, 410)
  })
})

describe('graceful shutdown', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB'])
  })
  after(() => gw.close())

  test('shutdown makes an in-flight PATCH commit what it received and answer; later requests get 503', HANG_GUARD, async () => {
    const body = bytes(50_000, 45)
    const url = await create(gw, { 'Upload-Length': String(body.length) })
    const other = await create(gw, { 'Upload-Length': '10' })
    const stalled = await stalledPatch(gw.port, new URL(url).pathname, 0, body.length, body.subarray(0, 20_000))
    await waitForStalledWrite(gw, stalled)

    gw.app.context.shutdown()
    const answer = parseRawResponse(await stalled.response)
    assert.equal(answer.status, 204)
    assert.equal(answer.headers.get('upload-offset'), '20000')
    stalled.socket.destroy()

    for (const res of [await patch(other, 0, bytes(10)), await head(url).then((r) => new Response(null, { status: r.status, headers: r.headers }))]) {
      assert.equal(res.status, 503)
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_SHUTTING_DOWN')
    }
    const post = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10' } })
    assert.equal(post.status, 503)
    assert.equal(post.headers.get('tessera-error-code'), 'TESSERA_ERR_SHUTTING_DOWN')

    const get = await fetch(url)
    assert.equal(get.status, 503)
    assert.equal(get.headers.get('tessera-error-code'), 'TESSERA_ERR_SHUTTING_DOWN')

    // What was acknowledged is committed in the store.
    assert.equal((await gw.deps!.store.stat(idOf(url)))?.length, 20_000)
  })
})

