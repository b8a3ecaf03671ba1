// Every bad input the tus protocol names gets its status, a wire code and a text body — and never
// changes what is stored.
import assert from 'node:assert/strict'
import { mkdir, rm, writeFile, readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { basename, dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { OCTET, TUS, bytes, create, download, head, listFiles, offsetOf, patch, rawRequest, startGateway, upload, type TestGateway } from './helpers/gateway.js'

/** Asserts an error answer: status, a `Tessera-Error-Code`, a non-empty text body. */
async function expectError(res: Response, status: number, code?: string, what = ''): Promise<void> {
  assert.equal(res.status, status, what)
  const wire = res.headers.get('tessera-error-code')
  assert.match(wire ?? '', /^TESSERA_ERR_[A-Z_]+$/, what)
  if (code) assert.equal(wire, code, what)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/, what)
  assert.notEqual((await res.text()).trim(), '', what)
  assert.equal(res.headers.get('tus-resumable'), '1.0.0', what)
}

describe('bad input', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB', '--max-size', '100000'])
  })
  after(() => gw.close())

  describe('Tus-Resumable', () => {
    test('missing or wrong on POST/HEAD/PATCH/DELETE → 412 with Tus-Version, nothing done', async () => {
      const url = await create(gw, { 'Upload-Length': '10' })
      for (const version of [undefined, '0.2.2', '1.0', '2.0.0', '']) {
        const h: Record<string, string> = version === undefined ? {} : { 'Tus-Resumable': version }
        const requests: [string, string, RequestInit][] = [
          ['POST', gw.endpoint, { method: 'POST', headers: { ...h, 'Upload-Length': '10' } }],
          ['HEAD', url, { method: 'HEAD', headers: h }],
          ['PATCH', url, { method: 'PATCH', headers: { ...h, 'Content-Type': OCTET, 'Upload-Offset': '0' }, body: bytes(10) }],
          ['DELETE', url, { method: 'DELETE', headers: h }],
        ]
        for (const [method, target, init] of requests) {
          const res = await fetch(target, init)
          const what = `${method} Tus-Resumable ${JSON.stringify(version)}`
          assert.equal(res.status, 412, what)
          assert.equal(res.headers.get('tus-version'), '1.0.0', what)
          assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_UNSUPPORTED_VERSION', what)
          if (method !== 'HEAD') assert.notEqual((await res.text()).trim(), '', what)
        }
      }
      assert.equal(await offsetOf(url), 0)
    })
  })

  describe('Upload-Length and Upload-Defer-Length on creation', () => {
    for (const value of ['-1', 'abc', '1.5', '1e3', '0x10', '+5', '007', '99999999999999999999', '9007199254740992', '']) {
      test(`Upload-Length ${JSON.stringify(value)} → 400`, async () => {
        const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': value } })
        await expectError(res, 400, 'TESSERA_ERR_INVALID_HEADER', value)
      })
    }

    test('both Upload-Length and Upload-Defer-Length → 400', async () => {
      await expectError(await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '5', 'Upload-Defer-Length': '1' } }), 400)
    })

    test('neither → 400', async () => {
      await expectError(await fetch(gw.endpoint, { method: 'POST', headers: TUS }), 400)
    })

    for (const value of ['2', '0', 'true', '01']) {
      test(`Upload-Defer-Length: ${value} → 400`, async () => {
        await expectError(await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Defer-Length': value } }), 400, 'TESSERA_ERR_INVALID_HEADER')
      })
    }

    test('Upload-Length over --max-size → 413; exactly max-size is fine', async () => {
      await expectError(await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '100001' } }), 413, 'TESSERA_ERR_TOO_LARGE')
      await expectError(await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '9007199254740991' } }), 413, 'TESSERA_ERR_TOO_LARGE')
      assert.equal((await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '100000' } })).status, 201)
    })
  })

  describe('Upload-Metadata', () => {
    const bad = [
      'key notbase64!',
      'key YQ== extra',
      'key YQ',
      ',',
      'a YQ==,',
      ' ,a',
      'dup YQ==,dup Yg==',
      `bin ${Buffer.from([0xff, 0xfe]).toString('base64')}`,
      'sp ace YQ==',
    ]
    for (const value of bad) {
      test(`malformed ${JSON.stringify(value)} → 400`, async () => {
        const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '1', 'Upload-Metadata': value } })
        await expectError(res, 400, 'TESSERA_ERR_INVALID_HEADER', value)
      })
    }

    test('a non-ASCII key → 400', async () => {
      const res = await rawRequest(gw.port, 'POST', '/files', { ...TUS, 'Upload-Length': '1', 'Upload-Metadata': 'cl\u00e9 YQ==' })
      assert.equal(res.status, 400)
      assert.equal(res.headers['tessera-error-code'], 'TESSERA_ERR_INVALID_HEADER')
    })
  })

  describe('PATCH headers', () => {
    test('wrong or missing Content-Type → 415, nothing stored', async () => {
      const url = await create(gw, { 'Upload-Length': '10' })
      for (const type of [undefined, 'application/octet-stream', 'text/plain', 'application/offset+octet-streamx', 'multipart/form-data']) {
        const headers: Record<string, string> = { ...TUS, 'Upload-Offset': '0' }
        if (type) headers['Content-Type'] = type
        // A Blob without type makes fetch send no Content-Type at all.
        const res = await fetch(url, { method: 'PATCH', headers, body: type ? bytes(10) : new Blob([bytes(10)]) })
        await expectError(res, 415, 'TESSERA_ERR_UNSUPPORTED_MEDIA_TYPE', String(type))
      }
      assert.equal(await offsetOf(url), 0)
    })

    test('Content-Type parameters and case are tolerated', async () => {
      const url = await create(gw, { 'Upload-Length': '10' })
      const res = await patch(url, 0, bytes(10), { 'Content-Type': 'Application/Offset+Octet-Stream; charset=binary' })
      assert.equal(res.status, 204)
    })

    test('missing or malformed Upload-Offset → 400, nothing stored', async () => {
      const url = await create(gw, { 'Upload-Length': '10' })
      const missing = await fetch(url, { method: 'PATCH', headers: { ...TUS, 'Content-Type': OCTET }, body: bytes(10) })
      await expectError(missing, 400, 'TESSERA_ERR_INVALID_HEADER')
      for (const value of ['-1', 'abc', '1.5', '99999999999999999999', '']) {
        await expectError(await patch(url, 0, bytes(10), { 'Upload-Offset': value }), 400, 'TESSERA_ERR_INVALID_HEADER', value)
      }
      assert.equal(await offsetOf(url), 0)
    })

    test('malformed Upload-Length on PATCH → 400', async () => {
      const url = await create(gw, { 'Upload-Defer-Length': '1' })
      await expectError(await patch(url, 0, bytes(10), { 'Upload-Length': 'ten' }), 400, 'TESSERA_ERR_INVALID_HEADER')
      assert.equal(await offsetOf(url), 0)
    })
  })

  describe('bodies past the length', () => {
    test('Content-Length past Upload-Length → 413 before a byte is stored', async () => {
      const url = await create(gw, { 'Upload-Length': '20000' })
      await patch(url, 0, bytes(5000))
      await expectError(await patch(url, 5000, bytes(15_001)), 413, 'TESSERA_ERR_TOO_LARGE')
      assert.equal(await offsetOf(url), 5000)
      const rest = bytes(15_000, 2)
      assert.equal((await patch(url, 5000, rest)).status, 204)
      assert.deepEqual(await download(url), Buffer.concat([bytes(5000), rest]))
    })

    test('a chunked body that overflows mid-stream → 413; what fits up to Upload-Length is kept, nothing past it', async () => {
      const url = await create(gw, { 'Upload-Length': '30000' })
      await patch(url, 0, bytes(1000))
      const body = bytes(40_000, 3) // crosses several 16 KiB stripes, overflows at 29 000
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < body.length; i += 7000) c.enqueue(body.subarray(i, i + 7000))
          c.close()
        },
      })
      await expectError(await patch(url, 1000, stream), 413, 'TESSERA_ERR_TOO_LARGE')
      const h = await head(url)
      assert.equal(h.headers.get('upload-offset'), '30000')
      assert.equal(h.headers.get('upload-length'), '30000')
      assert.deepEqual(await download(url), Buffer.concat([bytes(1000), body.subarray(0, 29_000)]))
    })

    test('a deferred upload growing past --max-size → 413 (declared up front): nothing stored', async () => {
      const url = await create(gw, { 'Upload-Defer-Length': '1' })
      await patch(url, 0, bytes(60_000))
      await expectError(await patch(url, 60_000, bytes(40_001)), 413, 'TESSERA_ERR_TOO_LARGE')
      assert.equal(await offsetOf(url), 60_000)
    })

    test('a deferred upload growing past --max-size → 413 (chunked): never more than max-size stored', async () => {
      const url = await create(gw, { 'Upload-Defer-Length': '1' })
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 8; i++) c.enqueue(bytes(16_000, 10 + i))
          c.close()
        },
      })
      await expectError(await patch(url, 0, stream), 413, 'TESSERA_ERR_TOO_LARGE')
      assert.ok((await offsetOf(url)) <= 100_000)
    })

    test('a deferred length over --max-size on PATCH → 413', async () => {
      const url = await create(gw, { 'Upload-Defer-Length': '1' })
      await expectError(await patch(url, 0, bytes(10), { 'Upload-Length': '100001' }), 413, 'TESSERA_ERR_TOO_LARGE')
      assert.equal(await offsetOf(url), 0)
    })

    test('a final concatenation over --max-size → 413', async () => {
      const a = await upload(gw, bytes(60_000, 1), { 'Upload-Concat': 'partial' })
      const b = await upload(gw, bytes(60_000, 2), { 'Upload-Concat': 'partial' })
      const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Concat': `final;${a} ${b}` } })
      await expectError(res, 413, 'TESSERA_ERR_TOO_LARGE')
      assert.equal((await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Concat': `final;${a}` } })).status, 201)
    })

    test('creation-with-upload past Upload-Length → 413', async () => {
      const res = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10', 'Content-Type': OCTET }, body: bytes(11) })
      await expectError(res, 413, 'TESSERA_ERR_TOO_LARGE')
    })
  })

  describe('ids', () => {
    test('unknown id → 404 on HEAD, PATCH, DELETE, GET', async () => {
      const url = `${gw.endpoint}/ffffffffffffffffffffffffffffffff`
      await expectError(await fetch(url, { method: 'HEAD', headers: TUS }).then((r) => new Response('x', { status: r.status, headers: r.headers })), 404, 'TESSERA_ERR_NOT_FOUND')
      await expectError(await patch(url, 0, bytes(1)), 404, 'TESSERA_ERR_NOT_FOUND')
      await expectError(await fetch(url, { method: 'DELETE', headers: TUS }), 404, 'TESSERA_ERR_NOT_FOUND')
      await expectError(await fetch(url), 404, 'TESSERA_ERR_NOT_FOUND')
    })

    test('path tricks answer 404 and touch nothing outside (or inside) the data dir', async () => {
      // A victim next to the data dir, where `<data>/meta/uploads/<id>.json` with id `../../../x` would land.
      const parent = dirname(gw.dataDir)
      const name = `${basename(gw.dataDir)}-victim`
      const victim = join(parent, `${name}.json`)
      await writeFile(victim, '{"id":"victim","metadata":{},"createdAt":"2020-01-01T00:00:00Z"}')
      const victimDir = join(parent, name)
      await mkdir(victimDir, { recursive: true })
      await writeFile(join(victimDir, 'keep'), 'x')
      try {
        const url = await upload(gw, bytes(10)) // something real to compare against
        const before = (await listFiles(gw.dataDir)).sort()
        const ids = [
          `..%2F..%2F..%2F${name}`,
          `..%2F..%2F..%2F..%2F${name}`,
          '..%2F..%2Fetc%2Fpasswd',
          '%2e%2e',
          '%2E%2E%2F%2E%2E%2F',
          '..',
          '.',
          '%2e',
          'a.json',
          'abc.def',
          `${new URL(url).pathname.split('/').pop()}.json`,
          'a'.repeat(201),
          'a'.repeat(5000),
          '%00',
          'abc%00def',
          'abc%2Fdef',
          'abc%5Cdef',
          '~root',
          '%252e%252e',
          '%zz',
          '%',
          '%E0%A4%A',
        ]
        for (const id of ids) {
          const path = `/files/${id}`
          for (const method of ['HEAD', 'GET', 'DELETE', 'PATCH', 'OPTIONS']) {
            const headers: Record<string, string> = { ...TUS, 'Content-Type': OCTET, 'Upload-Offset': '0' }
            const res = await rawRequest(gw.port, method, path, headers, method === 'PATCH' ? bytes(4) : undefined)
            if (method === 'OPTIONS') {
              // Capabilities are not about an upload; they must not touch storage either.
              assert.ok(res.status === 204 || res.status === 404, `${method} ${path}: ${res.status}`)
              continue
            }
            assert.equal(res.status, 404, `${method} ${path}`)
            assert.equal(res.headers['tessera-error-code'], 'TESSERA_ERR_NOT_FOUND', `${method} ${path}`)
            assert.match(String(res.headers['content-type']), /^text\/plain/, `${method} ${path}`)
            assert.doesNotMatch(res.body, /\n\s+at /, `${method} ${path}: no stack trace in the body`)
          }
        }
        // Upload-Concat naming the same tricks cannot reach outside either.
        for (const id of ids) {
          const res = await rawRequest(gw.port, 'POST', '/files', { ...TUS, 'Upload-Concat': `final;/files/${id}` })
          assert.equal(res.status, 400, id)
        }
        assert.equal(await readFile(victim, 'utf8'), '{"id":"victim","metadata":{},"createdAt":"2020-01-01T00:00:00Z"}')
        assert.equal(await readFile(join(victimDir, 'keep'), 'utf8'), 'x')
        assert.deepEqual((await listFiles(gw.dataDir)).sort(), before)
        assert.deepEqual(await download(url), bytes(10))
      } finally {
        await rm(victim, { force: true })
        await rm(victimDir, { recursive: true, force: true })
      }
    })
  })

  test('no bad input was logged as a server error', () => {
    assert.deepEqual(gw.log.errors, [])
  })

  test('an error answered before a small body was read waits for the body: the client reads the answer, the connection stays usable', async () => {
    const url = await create(gw, { 'Upload-Length': '100000' })
    const path = new URL(url).pathname
    const socket = connect(gw.port, '127.0.0.1')
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => (text += d))
    const answers = async (n: number): Promise<string[]> => {
      for (let i = 0; i < 200 && (text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length < n; i++) await new Promise((r) => setTimeout(r, 10))
      return text.match(/HTTP\/1\.1 \d{3}[^]*?\r\n\r\n/g) ?? []
    }
    // A PATCH at the wrong offset (409 before any byte is read), its 60 000 bytes sent in pieces after the head.
    socket.write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 7\r\nContent-Length: 60000\r\n\r\n`)
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 20))
      socket.write(bytes(10_000, i))
    }
    const [first] = await answers(1)
    assert.match(first ?? '', /^HTTP\/1\.1 409/)
    assert.doesNotMatch(first ?? '', /connection: close/i, 'the body was read: the connection is kept')
    socket.write(`HEAD ${path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n\r\n`)
    const all = await answers(2)
    socket.destroy()
    assert.match(all[1] ?? '', /^HTTP\/1\.1 200[^]*upload-offset: 0/i, 'the next request on the same connection is answered; nothing was stored')
  })
})
