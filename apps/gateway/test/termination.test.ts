// Termination extension: DELETE frees the upload; its id then answers 410.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { TUS, blocksOf, bytes, create, head, idOf, patch, startGateway, upload, type TestGateway } from './helpers/gateway.js'

describe('termination', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB'])
  })
  after(() => gw.close())

  test('DELETE answers 204, removes the blocks, then HEAD/PATCH/GET/DELETE answer 410', async () => {
    const url = await upload(gw, bytes(40_000))
    assert.ok((await blocksOf(gw, idOf(url))).length > 0)
    const res = await fetch(url, { method: 'DELETE', headers: TUS })
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('tus-resumable'), '1.0.0')
    assert.deepEqual(await blocksOf(gw, idOf(url)), [])

    const h = await head(url)
    assert.equal(h.status, 410)
    assert.equal(h.headers.get('tessera-error-code'), 'TESSERA_ERR_GONE')
    const p = await patch(url, 40_000, bytes(1))
    assert.equal(p.status, 410)
    assert.equal(p.headers.get('tessera-error-code'), 'TESSERA_ERR_GONE')
    const g = await fetch(url)
    assert.equal(g.status, 410)
    assert.notEqual((await g.text()).trim(), '')
    assert.equal((await fetch(url, { method: 'DELETE', headers: TUS })).status, 410)
  })

  test('an unfinished upload can be terminated', async () => {
    const url = await create(gw, { 'Upload-Length': '100' })
    await patch(url, 0, bytes(50))
    assert.equal((await fetch(url, { method: 'DELETE', headers: TUS })).status, 204)
    assert.equal((await head(url)).status, 410)
    assert.deepEqual(await blocksOf(gw, idOf(url)), [])
  })

  test('DELETE of an unknown id answers 404', async () => {
    const res = await fetch(`${gw.endpoint}/0123456789abcdef0123456789abcdef`, { method: 'DELETE', headers: TUS })
    assert.equal(res.status, 404)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_NOT_FOUND')
  })

  test('DELETE needs Tus-Resumable', async () => {
    const url = await upload(gw, bytes(10))
    const res = await fetch(url, { method: 'DELETE' })
    assert.equal(res.status, 412)
    assert.equal((await head(url)).status, 200)
  })
})
