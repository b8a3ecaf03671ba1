// PATCH (core): appends, offsets, deferred length, finishing.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { TUS, bytes, create, download, head, offsetOf, patch, startGateway, type TestGateway } from './helpers/gateway.js'

describe('PATCH', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB'])
  })
  after(() => gw.close())

  test('several PATCHes append in order; each answers 204 with the new offset', async () => {
    const body = bytes(70_000, 3)
    const url = await create(gw, { 'Upload-Length': String(body.length) })
    // Odd sizes: neither stripe- nor block-aligned.
    const cuts = [0, 1, 4097, 16_384, 33_333, 69_999, 70_000]
    for (let i = 1; i < cuts.length; i++) {
      const res = await patch(url, cuts[i - 1]!, body.subarray(cuts[i - 1], cuts[i]))
      assert.equal(res.status, 204)
      assert.equal(res.headers.get('upload-offset'), String(cuts[i]))
      assert.equal(res.headers.get('tus-resumable'), '1.0.0')
      assert.equal(await offsetOf(url), cuts[i])
    }
    assert.deepEqual(await download(url), body)
  })

  test('an empty PATCH is accepted and changes nothing', async () => {
    const url = await create(gw, { 'Upload-Length': '10' })
    const res = await patch(url, 0, new Uint8Array(0))
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('upload-offset'), '0')
  })

  test('Upload-Offset mismatch answers 409 and stores nothing', async () => {
    const url = await create(gw, { 'Upload-Length': '100' })
    assert.equal((await patch(url, 0, bytes(10))).status, 204)
    for (const wrong of [0, 5, 11, 100]) {
      const res = await patch(url, wrong, bytes(10, 99))
      assert.equal(res.status, 409, `offset ${wrong}`)
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_OFFSET_MISMATCH')
      assert.notEqual((await res.text()).trim(), '')
    }
    assert.equal(await offsetOf(url), 10)
    const rest = bytes(90, 4)
    assert.equal((await patch(url, 10, rest)).status, 204)
    assert.deepEqual(await download(url), Buffer.concat([bytes(10), rest]))
  })

  test('finishing removes Upload-Expires; unfinished uploads carry it', async () => {
    const url = await create(gw, { 'Upload-Length': '20' })
    const first = await patch(url, 0, bytes(10))
    assert.ok(first.headers.get('upload-expires'))
    assert.ok((await head(url)).headers.get('upload-expires'))
    const last = await patch(url, 10, bytes(10))
    assert.equal(last.status, 204)
    assert.equal(last.headers.get('upload-expires'), null)
    const h = await head(url)
    assert.equal(h.headers.get('upload-expires'), null)
    assert.equal(h.headers.get('upload-offset'), '20')
  })

  test('PATCH on a finished upload with more bytes answers 413 and keeps the upload intact', async () => {
    const body = bytes(20)
    const url = await create(gw, { 'Upload-Length': '20' })
    await patch(url, 0, body)
    const res = await patch(url, 20, bytes(1))
    assert.equal(res.status, 413)
    assert.deepEqual(await download(url), body)
  })

  describe('creation-defer-length', () => {
    test('a PATCH carrying Upload-Length settles the length; the upload then finishes', async () => {
      const body = bytes(10_000, 5)
      const url = await create(gw, { 'Upload-Defer-Length': '1' })
      let res = await patch(url, 0, body.subarray(0, 6000))
      assert.equal(res.status, 204)
      assert.equal((await head(url)).headers.get('upload-defer-length'), '1')
      res = await patch(url, 6000, body.subarray(6000), { 'Upload-Length': '10000' })
      assert.equal(res.status, 204)
      assert.equal(res.headers.get('upload-offset'), '10000')
      assert.equal(res.headers.get('upload-expires'), null)
      const h = await head(url)
      assert.equal(h.headers.get('upload-length'), '10000')
      assert.equal(h.headers.get('upload-defer-length'), null)
      assert.deepEqual(await download(url), body)
    })

    test('the length can be settled ahead of the last bytes', async () => {
      const url = await create(gw, { 'Upload-Defer-Length': '1' })
      assert.equal((await patch(url, 0, bytes(10), { 'Upload-Length': '30' })).status, 204)
      const h = await head(url)
      assert.equal(h.headers.get('upload-length'), '30')
      assert.equal(h.headers.get('upload-offset'), '10')
      // Now bounded by the settled length.
      assert.equal((await patch(url, 10, bytes(21))).status, 413)
      assert.equal(await offsetOf(url), 10)
    })

    test('a second, different Upload-Length is refused; the same one is accepted', async () => {
      const url = await create(gw, { 'Upload-Defer-Length': '1' })
      assert.equal((await patch(url, 0, bytes(5), { 'Upload-Length': '20' })).status, 204)
      const res = await patch(url, 5, bytes(5), { 'Upload-Length': '25' })
      assert.equal(res.status, 400)
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_HEADER')
      assert.equal(await offsetOf(url), 5)
      assert.equal((await patch(url, 5, bytes(5), { 'Upload-Length': '20' })).status, 204)
    })

    test('Upload-Length below the bytes already received is refused', async () => {
      const url = await create(gw, { 'Upload-Defer-Length': '1' })
      await patch(url, 0, bytes(10))
      const res = await patch(url, 10, bytes(1), { 'Upload-Length': '5' })
      assert.equal(res.status, 400)
      assert.equal((await head(url)).headers.get('upload-defer-length'), '1')
    })

    test('a length that contradicts the upload is refused on an upload with a declared length', async () => {
      const url = await create(gw, { 'Upload-Length': '10' })
      const res = await patch(url, 0, bytes(5), { 'Upload-Length': '11' })
      assert.equal(res.status, 400)
      assert.equal(await offsetOf(url), 0)
    })
  })

  test('a PATCH on an upload that never existed answers 404, not 500', async () => {
    const res = await fetch(`${gw.endpoint}/0123456789abcdef0123456789abcdef`, {
      method: 'PATCH',
      headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' },
      body: bytes(3),
    })
    assert.equal(res.status, 404)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_NOT_FOUND')
  })
})
