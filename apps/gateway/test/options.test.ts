// OPTIONS (capabilities), CORS, routing (404/405) and X-HTTP-Method-Override.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { OCTET, TUS, bytes, create, download, head, rawRequest, startGateway, type TestGateway } from './helpers/gateway.js'

describe('OPTIONS', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--max-size', '1MiB'])
  })
  after(() => gw.close())

  test('advertises version, exactly the implemented extensions, checksum algorithms, reconciliation and max size', async () => {
    const res = await fetch(gw.endpoint, { method: 'OPTIONS' })
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('tus-version'), '1.0.0')
    assert.equal(res.headers.get('tus-resumable'), '1.0.0')
    const extensions = res.headers.get('tus-extension')!.split(',').map((s) => s.trim()).sort()
    assert.deepEqual(extensions, ['checksum', 'concatenation', 'creation', 'creation-defer-length', 'creation-with-upload', 'expiration', 'termination'])
    const algorithms = res.headers.get('tus-checksum-algorithm')!.split(',').map((s) => s.trim())
    assert.ok(algorithms.includes('sha1'))
    assert.ok(algorithms.includes('sha256'))
    assert.equal(res.headers.get('tus-max-size'), String(1024 * 1024))
    assert.equal(res.headers.get('tessera-reconciliation'), 'sha256, partitions, length-trailer')
  })

  test('works on an upload URL too', async () => {
    const url = await create(gw, { 'Upload-Length': '3' })
    const res = await fetch(url, { method: 'OPTIONS' })
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('tus-version'), '1.0.0')
  })

  test('no Tus-Max-Size without --max-size', async () => {
    const plain = await startGateway()
    try {
      const res = await fetch(plain.endpoint, { method: 'OPTIONS' })
      assert.equal(res.status, 204)
      assert.equal(res.headers.get('tus-max-size'), null)
    } finally {
      await plain.close()
    }
  })
})

describe('CORS', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway()
  })
  after(() => gw.close())

  test('a preflight from an Origin gets the allowed methods and tus request headers', async () => {
    const res = await fetch(gw.endpoint, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'upload-offset,upload-checksum' },
    })
    assert.ok(res.status >= 200 && res.status < 300)
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example')
    const methods = res.headers.get('access-control-allow-methods')!.split(',').map((s) => s.trim())
    for (const m of ['POST', 'GET', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS']) assert.ok(methods.includes(m), m)
    const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase().split(',').map((s) => s.trim())
    for (const h of ['tus-resumable', 'upload-length', 'upload-offset', 'upload-metadata', 'upload-defer-length', 'upload-concat', 'upload-checksum', 'content-type', 'x-http-method-override']) {
      assert.ok(allowed.includes(h), h)
    }
  })

  test('normal responses expose the tus response headers to the page', async () => {
    const origin = { Origin: 'https://app.example' }
    const post = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, ...origin, 'Upload-Length': '4' } })
    assert.equal(post.status, 201)
    assert.equal(post.headers.get('access-control-allow-origin'), 'https://app.example')
    const exposed = post.headers.get('access-control-expose-headers')!.toLowerCase().split(',').map((s) => s.trim())
    for (const h of ['location', 'upload-offset', 'upload-length', 'upload-metadata', 'upload-expires', 'upload-defer-length', 'upload-concat', 'tus-resumable', 'tus-version', 'tus-extension', 'tus-max-size', 'tessera-error-code', 'tessera-winner', 'tessera-reconciliation', 'content-range']) {
      assert.ok(exposed.includes(h), h)
    }
    const res = await fetch(post.headers.get('location')!, { method: 'HEAD', headers: { ...TUS, ...origin } })
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example')
    assert.ok(res.headers.get('access-control-expose-headers')!.includes('Upload-Offset'))
  })

  test('error responses carry CORS headers too, so a page can read the error code', async () => {
    const res = await fetch(`${gw.endpoint}/nosuchupload`, { method: 'HEAD', headers: { ...TUS, Origin: 'https://app.example' } })
    assert.equal(res.status, 404)
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example')
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_NOT_FOUND')
  })
})

describe('routing', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway()
  })
  after(() => gw.close())

  test('unknown routes answer 404 with a text body and a wire code', async () => {
    for (const path of ['/', '/nope', '/files/a/b', '/filesx']) {
      const res = await fetch(`${gw.origin}${path}`, { headers: TUS })
      assert.equal(res.status, 404, path)
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_NOT_FOUND', path)
      assert.match(res.headers.get('content-type')!, /^text\/plain/)
      assert.notEqual((await res.text()).trim(), '')
    }
  })

  test('unsupported methods on the endpoint and on an upload answer 405', async () => {
    const url = await create(gw, { 'Upload-Length': '1' })
    for (const [method, target] of [['PUT', gw.endpoint], ['PATCH', gw.endpoint], ['DELETE', gw.endpoint], ['PUT', url], ['POST', url]] as const) {
      const res = await fetch(target, { method, headers: TUS })
      assert.equal(res.status, 405, `${method} ${target}`)
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_METHOD_NOT_ALLOWED')
      assert.notEqual((await res.text()).trim(), '')
    }
    // GET on the collection is not a download.
    const list = await rawRequest(gw.port, 'GET', '/files', TUS)
    assert.equal(list.status, 405)
  })
})

describe('X-HTTP-Method-Override', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway()
  })
  after(() => gw.close())

  test('POST + override PATCH appends, POST + override DELETE terminates', async () => {
    const body = bytes(1000)
    const url = await create(gw, { 'Upload-Length': '1000' })
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...TUS, 'X-HTTP-Method-Override': 'PATCH', 'Content-Type': OCTET, 'Upload-Offset': '0' },
      body,
    })
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('upload-offset'), '1000')
    assert.deepEqual(await download(url), body)

    const del = await fetch(url, { method: 'POST', headers: { ...TUS, 'X-HTTP-Method-Override': 'DELETE' } })
    assert.equal(del.status, 204)
    assert.equal((await head(url)).status, 410)
  })
})
