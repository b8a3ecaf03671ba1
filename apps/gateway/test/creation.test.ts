// Creation, creation-defer-length, creation-with-upload; HEAD of a fresh upload.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { OCTET, TUS, bytes, create, download, head, metadata, rawRequest, startGateway, type TestGateway } from './helpers/gateway.js'

describe('creation', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB'])
  })
  after(() => gw.close())

  test('POST with Upload-Length answers 201 with an absolute Location under the endpoint', async () => {
    const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10' } })
    assert.equal(res.status, 201)
    assert.equal(res.headers.get('tus-resumable'), '1.0.0')
    const location = res.headers.get('location')!
    const url = new URL(location) // throws unless absolute
    assert.equal(url.origin, gw.origin)
    assert.match(url.pathname, /^\/files\/[A-Za-z0-9_-]+$/)
    assert.ok(res.headers.get('upload-expires'), 'an unfinished upload announces its expiry')
    assert.ok(!Number.isNaN(Date.parse(res.headers.get('upload-expires')!)))

    const h = await head(location)
    assert.equal(h.status, 200)
    assert.equal(h.headers.get('upload-offset'), '0')
    assert.equal(h.headers.get('upload-length'), '10')
    assert.equal(h.headers.get('upload-defer-length'), null)
    assert.equal(h.headers.get('cache-control'), 'no-store')
    assert.ok(!Number.isNaN(Date.parse(h.headers.get('upload-expires')!)))
    assert.equal(h.headers.get('tus-resumable'), '1.0.0')
  })

  test('two creations get different ids', async () => {
    const a = await create(gw, { 'Upload-Length': '1' })
    const b = await create(gw, { 'Upload-Length': '1' })
    assert.notEqual(a, b)
  })

  test('Location follows the Host the client used', async () => {
    const res = await rawRequest(gw.port, 'POST', '/files', { ...TUS, 'Upload-Length': '1', Host: `uploads.example:${gw.port}` })
    assert.equal(res.status, 201)
    assert.equal(new URL(res.headers.location!).host, `uploads.example:${gw.port}`)
  })

  test('Upload-Length: 0 creates an upload that is finished at once', async () => {
    const url = await create(gw, { 'Upload-Length': '0' })
    const h = await head(url)
    assert.equal(h.headers.get('upload-offset'), '0')
    assert.equal(h.headers.get('upload-length'), '0')
    assert.equal(h.headers.get('upload-expires'), null)
    assert.equal((await download(url)).length, 0)
  })

  test('Upload-Defer-Length: 1 creates an upload of unknown length', async () => {
    const url = await create(gw, { 'Upload-Defer-Length': '1' })
    const h = await head(url)
    assert.equal(h.status, 200)
    assert.equal(h.headers.get('upload-defer-length'), '1')
    assert.equal(h.headers.get('upload-length'), null)
    assert.equal(h.headers.get('upload-offset'), '0')
  })

  test('metadata round-trips through HEAD: UTF-8 values, keys without value, empty values', async () => {
    const sent = { filename: 'Ünïcødé 文件 🎉.txt', filetype: 'text/plain', flag: null, 'odd-key_9$!': 'v,a l=u;e' }
    const url = await create(gw, { 'Upload-Length': '1', 'Upload-Metadata': metadata(sent) })
    const h = await head(url)
    const got: Record<string, string | null> = {}
    for (const pair of h.headers.get('upload-metadata')!.split(',')) {
      const [k, v] = pair.trim().split(' ')
      got[k!] = v === undefined ? null : Buffer.from(v, 'base64').toString('utf8')
    }
    assert.deepEqual(got, sent)
  })

  test('no Upload-Metadata header when none was sent', async () => {
    const url = await create(gw, { 'Upload-Length': '1' })
    assert.equal((await head(url)).headers.get('upload-metadata'), null)
  })

  test('metadata keys that look like object internals are kept as plain keys', async () => {
    const sent = { __proto__x: 'a', constructor: 'b', toString: 'c' }
    const url = await create(gw, { 'Upload-Length': '1', 'Upload-Metadata': metadata(sent) })
    const header = (await head(url)).headers.get('upload-metadata')!
    assert.deepEqual(header.split(',').map((p) => p.split(' ')[0]).sort(), ['__proto__x', 'constructor', 'toString'])
  })
})

describe('creation-with-upload', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB'])
  })
  after(() => gw.close())

  test('POST with a body stores it and answers Upload-Offset', async () => {
    const body = bytes(50_000, 7)
    const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '60000', 'Content-Type': OCTET }, body })
    assert.equal(res.status, 201)
    assert.equal(res.headers.get('upload-offset'), '50000')
    const url = res.headers.get('location')!
    const h = await head(url)
    assert.equal(h.headers.get('upload-offset'), '50000')
    assert.ok(h.headers.get('upload-expires'))
  })

  test('POST with the whole body finishes the upload: no Upload-Expires, downloadable', async () => {
    const body = bytes(20_000, 8)
    const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '20000', 'Content-Type': OCTET }, body })
    assert.equal(res.status, 201)
    assert.equal(res.headers.get('upload-offset'), '20000')
    assert.equal(res.headers.get('upload-expires'), null)
    const url = res.headers.get('location')!
    const h = await head(url)
    assert.equal(h.headers.get('upload-offset'), '20000')
    assert.equal(h.headers.get('upload-expires'), null)
    assert.deepEqual(await download(url), body)
  })

  test('a POST body with another Content-Type is not stored (plain creation)', async () => {
    const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '5', 'Content-Type': 'text/plain' }, body: 'hello' })
    assert.equal(res.status, 201)
    assert.equal(res.headers.get('upload-offset'), null)
    assert.equal((await head(res.headers.get('location')!)).headers.get('upload-offset'), '0')
  })

  test('deferred length with a body', async () => {
    const body = bytes(9000, 9)
    const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Defer-Length': '1', 'Content-Type': OCTET }, body })
    assert.equal(res.status, 201)
    assert.equal(res.headers.get('upload-offset'), '9000')
    const h = await head(res.headers.get('location')!)
    assert.equal(h.headers.get('upload-defer-length'), '1')
    assert.equal(h.headers.get('upload-offset'), '9000')
  })
})
