// Concatenation extension: partials, finals, and every way a final can be refused.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { OCTET, TUS, bytes, create, download, head, idOf, metadata, patch, startGateway, upload, type TestGateway } from './helpers/gateway.js'

describe('concatenation', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB'])
  })
  after(() => gw.close())

  const partial = (body: Uint8Array): Promise<string> => upload(gw, body, { 'Upload-Concat': 'partial' })
  const final = (urls: string[], headers: Record<string, string> = {}): Promise<Response> =>
    fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Concat': `final;${urls.join(' ')}`, ...headers } })

  test('partials concatenate into a final: HEAD and GET report the whole in order', async () => {
    const parts = [bytes(20_000, 1), bytes(1, 2), bytes(16_384, 3), bytes(5_555, 4)]
    const urls = []
    for (const p of parts) urls.push(await partial(p))
    const h0 = await head(urls[0]!)
    assert.equal(h0.headers.get('upload-concat'), 'partial')

    // Absolute URLs and paths may be mixed.
    const named = urls.map((u, i) => (i % 2 === 0 ? u : new URL(u).pathname))
    const res = await final(named, { 'Upload-Metadata': metadata({ filename: 'whole.bin' }) })
    assert.equal(res.status, 201)
    const url = res.headers.get('location')!
    assert.equal(new URL(url).origin, gw.origin)

    const total = parts.reduce((n, p) => n + p.length, 0)
    const h = await head(url)
    assert.equal(h.status, 200)
    assert.equal(h.headers.get('upload-length'), String(total))
    assert.equal(h.headers.get('upload-offset'), String(total))
    assert.equal(h.headers.get('upload-expires'), null)
    const concat = h.headers.get('upload-concat')!
    assert.ok(concat.startsWith('final;'), concat)
    assert.deepEqual(concat.slice('final;'.length).trim().split(' ').map((u) => new URL(u, gw.origin).pathname), urls.map((u) => new URL(u).pathname))
    assert.ok(h.headers.get('upload-metadata')!.startsWith('filename '))

    assert.deepEqual(await download(url), Buffer.concat(parts))
    const ranged = await fetch(url, { headers: { Range: 'bytes=19990-20010' } })
    assert.equal(ranged.status, 206)
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), Buffer.concat(parts).subarray(19990, 20011))
  })

  test('the same partial may appear twice', async () => {
    const p = bytes(3000, 5)
    const url = await partial(p)
    const res = await final([url, url])
    assert.equal(res.status, 201)
    assert.deepEqual(await download(res.headers.get('location')!), Buffer.concat([p, p]))
  })

  test('PATCH on a final answers 403 and changes nothing', async () => {
    const p = bytes(100, 6)
    const res = await final([await partial(p)])
    const url = res.headers.get('location')!
    const bad = await patch(url, 100, bytes(10))
    assert.equal(bad.status, 403)
    assert.ok(bad.headers.get('tessera-error-code'))
    assert.deepEqual(await download(url), p)
  })

  test('a final naming an unfinished partial is refused with 400', async () => {
    const done = await partial(bytes(10))
    const unfinished = await create(gw, { 'Upload-Length': '10', 'Upload-Concat': 'partial' })
    await patch(unfinished, 0, bytes(5))
    const res = await final([done, unfinished])
    assert.equal(res.status, 400)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_CONCAT')
    assert.notEqual((await res.text()).trim(), '')
    const deferred = await create(gw, { 'Upload-Defer-Length': '1', 'Upload-Concat': 'partial' })
    assert.equal((await final([done, deferred])).status, 400)
  })

  test('a final naming a non-partial upload is refused with 400', async () => {
    const plain = await upload(gw, bytes(10))
    const res = await final([await partial(bytes(10)), plain])
    assert.equal(res.status, 400)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_CONCAT')
  })

  test('a final naming a final is refused with 400', async () => {
    const f = (await final([await partial(bytes(10))])).headers.get('location')!
    assert.equal((await final([f])).status, 400)
  })

  test('a final naming an unknown or terminated id is refused with 400', async () => {
    const ok = await partial(bytes(10))
    assert.equal((await final([ok, `${gw.endpoint}/0123456789abcdef0123456789abcdef`])).status, 400)
    const gone = await partial(bytes(10))
    assert.equal((await fetch(gone, { method: 'DELETE', headers: TUS })).status, 204)
    const res = await final([ok, gone])
    assert.equal(res.status, 400)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_CONCAT')
  })

  test('a final naming a URL of another server is refused with 400', async () => {
    const ok = await partial(bytes(10))
    const id = idOf(ok)
    for (const foreign of [`http://elsewhere.example/files/${id}`, `https://elsewhere.example:${gw.port}/files/${id}`, `${gw.origin}/other/${id}`, `/other/${id}`, 'not a url', 'http://[::1']) {
      const res = await final([foreign])
      assert.equal(res.status, 400, foreign)
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_CONCAT', foreign)
    }
  })

  test('deleting a partial after the final leaves the final readable; deleting all frees nothing early', async () => {
    const a = bytes(20_000, 7)
    const b = bytes(7_000, 8)
    const pa = await partial(a)
    const pb = await partial(b)
    const url = (await final([pa, pb])).headers.get('location')!
    assert.equal((await fetch(pa, { method: 'DELETE', headers: TUS })).status, 204)
    assert.equal((await head(pa)).status, 410)
    assert.deepEqual(await download(url), Buffer.concat([a, b]))
    assert.equal((await fetch(pb, { method: 'DELETE', headers: TUS })).status, 204)
    assert.deepEqual(await download(url), Buffer.concat([a, b]))
    assert.equal((await fetch(url, { method: 'DELETE', headers: TUS })).status, 204)
    assert.equal((await head(url)).status, 410)
  })

  test('a partial accepts creation-with-upload', async () => {
    const body = bytes(500, 9)
    const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '500', 'Upload-Concat': 'partial', 'Content-Type': OCTET }, body })
    assert.equal(res.status, 201)
    const f = await final([res.headers.get('location')!])
    assert.equal(f.status, 201)
    assert.deepEqual(await download(f.headers.get('location')!), body)
  })

  test('malformed Upload-Concat answers 400', async () => {
    for (const value of ['bogus', 'final;', 'final', 'partial;x', 'final ;/files/x', 'Partial']) {
      const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '1', 'Upload-Concat': value } })
      assert.equal(res.status, 400, value)
      assert.ok(res.headers.get('tessera-error-code'), value)
    }
  })
})
