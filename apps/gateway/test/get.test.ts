// GET: whole bodies, single ranges, content headers from metadata, and staying alive under
// repeated, concurrent and aborted downloads (what killed @tus/server's own GET).
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { TUS, bytes, create, download, metadata, patch, startGateway, upload, type TestGateway } from './helpers/gateway.js'

describe('GET', () => {
  let gw: TestGateway
  let body: Buffer
  let url: string
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB'])
    body = bytes(100_000, 21)
    url = await upload(gw, body)
  })
  after(() => gw.close())

  test('the whole body, byte for byte, with length and range support announced', async () => {
    const res = await fetch(url)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-length'), '100000')
    assert.equal(res.headers.get('accept-ranges'), 'bytes')
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), body)
  })

  test('GET needs no Tus-Resumable; HEAD of the same URL is still tus', async () => {
    assert.equal((await fetch(url)).status, 200)
  })

  const ranges: [string, number, number][] = [
    ['bytes=0-0', 0, 1],
    ['bytes=10-20', 10, 21],
    ['bytes=16383-16385', 16383, 16386], // across a stripe boundary
    ['bytes=99999-99999', 99999, 100000],
    ['bytes=50000-', 50000, 100000],
    ['bytes=-1', 99999, 100000],
    ['bytes=-30000', 70000, 100000],
    ['bytes=-200000', 0, 100000], // a suffix longer than the body is the whole body
    ['bytes=90000-500000', 90000, 100000], // last-pos past the end is clamped
  ]
  for (const [header, start, end] of ranges) {
    test(`Range: ${header} → 206 with Content-Range`, async () => {
      const res = await fetch(url, { headers: { Range: header } })
      assert.equal(res.status, 206)
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end - 1}/100000`)
      assert.equal(res.headers.get('content-length'), String(end - start))
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), body.subarray(start, end))
    })
  }

  for (const header of ['bytes=100000-', 'bytes=100000-100005', 'bytes=-0', 'bytes=200000-300000']) {
    test(`Range: ${header} → 416 with Content-Range: bytes */len`, async () => {
      const res = await fetch(url, { headers: { Range: header } })
      assert.equal(res.status, 416)
      assert.equal(res.headers.get('content-range'), 'bytes */100000')
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_RANGE_NOT_SATISFIABLE')
    })
  }

  test('a Range in a unit other than bytes is ignored (RFC 9110 §14.2): 200 and the whole body', async () => {
    const res = await fetch(url, { headers: { Range: 'items=0-5' } })
    assert.equal(res.status, 200)
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), body)
  })

  test('several ranges may be answered with the whole body', async () => {
    const res = await fetch(url, { headers: { Range: 'bytes=0-1,5-6' } })
    assert.equal(res.status, 200)
    assert.equal(Number(res.headers.get('content-length')), body.length)
    await res.arrayBuffer()
  })

  test('GET of an unfinished upload answers 409', async () => {
    const open = await create(gw, { 'Upload-Length': '100' })
    await patch(open, 0, bytes(10))
    const res = await fetch(open)
    assert.equal(res.status, 409)
    assert.ok(res.headers.get('tessera-error-code'))
    const deferred = await create(gw, { 'Upload-Defer-Length': '1' })
    assert.equal((await fetch(deferred)).status, 409)
  })

  test('GET of an unknown id answers 404', async () => {
    const res = await fetch(`${gw.endpoint}/0123456789abcdef0123456789abcdef`)
    assert.equal(res.status, 404)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_NOT_FOUND')
  })

  describe('content headers from metadata', () => {
    const served = async (meta: Record<string, string | null>) => {
      const u = await upload(gw, Buffer.from('<script>alert(1)</script>'), { 'Upload-Metadata': metadata(meta) })
      const res = await fetch(u)
      await res.arrayBuffer()
      return res.headers
    }

    test('filename and filetype are served as Content-Disposition and Content-Type', async () => {
      const h = await served({ filename: 'photo 1.png', filetype: 'image/png' })
      assert.equal(h.get('content-type'), 'image/png')
      assert.equal(h.get('x-content-type-options'), 'nosniff')
      const cd = h.get('content-disposition')!
      assert.match(cd, /^inline;/)
      assert.match(cd, /filename\*=UTF-8''photo%201\.png/)
    })

    test('a UTF-8 filename is percent-encoded, never raw in the header', async () => {
      const h = await served({ filename: 'résumé "final"\r\nX-Evil: 1.pdf', filetype: 'application/pdf' })
      const cd = h.get('content-disposition')!
      assert.match(cd, /^[\x20-\x7e]+$/)
      assert.equal(h.get('x-evil'), null)
      assert.match(cd, /filename\*=UTF-8''r%C3%A9sum%C3%A9/)
    })

    for (const type of ['text/html', 'TEXT/HTML', 'application/xhtml+xml', 'image/svg+xml', 'text/javascript', 'application/xml', 'text/xml']) {
      test(`${type} is never served inline (stored XSS)`, async () => {
        const h = await served({ filename: 'x.html', filetype: type })
        assert.match(h.get('content-disposition')!, /^attachment/)
        assert.equal(h.get('x-content-type-options'), 'nosniff')
      })
    }

    test('a malformed or parameterised filetype falls back to application/octet-stream', async () => {
      for (const filetype of ['text/html; charset=utf-8', 'nonsense', 'text/html\r\nX-Evil: 1', '']) {
        const h = await served({ filetype })
        assert.equal(h.get('content-type'), 'application/octet-stream', filetype)
        assert.match(h.get('content-disposition')!, /^attachment/)
      }
    })

    test('no metadata: an attachment of application/octet-stream', async () => {
      const u = await upload(gw, bytes(3))
      const res = await fetch(u)
      await res.arrayBuffer()
      assert.equal(res.headers.get('content-type'), 'application/octet-stream')
      assert.equal(res.headers.get('content-disposition'), 'attachment')
    })
  })
})

describe('GET under load', () => {
  let gw: TestGateway
  let body: Buffer
  let url: string
  before(async () => {
    gw = await startGateway(['--block-size', '64KiB']) // 256 KiB stripes: a 1.5 MiB body spans six
    body = bytes(1536 * 1024, 31)
    url = await upload(gw, body)
  })
  after(() => gw.close())

  test('200 GETs, 20 at a time, all complete and identical; the process stays up', async () => {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < 200) {
        next++
        const got = await download(url)
        assert.ok(got.equals(body))
      }
    }
    await Promise.all(Array.from({ length: 20 }, worker))
    assert.deepEqual(gw.log.errors, [])
  })

  test('downloads aborted mid-body by the client (fetch abort and socket destroy) leave the gateway serving', async () => {
    const aborted: Promise<void>[] = []
    for (let i = 0; i < 40; i++) {
      if (i % 2 === 0) {
        aborted.push(
          (async () => {
            const ac = new AbortController()
            const res = await fetch(url, { signal: ac.signal, headers: i % 4 === 0 ? { Range: 'bytes=1000-' } : {} })
            const reader = res.body!.getReader()
            await reader.read()
            ac.abort()
            await reader.read().catch(() => undefined)
          })(),
        )
      } else {
        aborted.push(
          new Promise<void>((resolve) => {
            const req = request(url, { agent: false }, (res) => {
              res.once('data', () => {
                req.destroy()
                resolve()
              })
              res.on('error', () => resolve())
            })
            req.on('error', () => resolve())
            req.end()
          }),
        )
      }
    }
    await Promise.all(aborted)
    // Still alive, still correct, and the aborts were not storage failures.
    for (let i = 0; i < 5; i++) assert.ok((await download(url)).equals(body))
    const ranged = await fetch(url, { headers: { Range: 'bytes=1000000-1000999' } }) // inside the fourth stripe
    assert.equal(ranged.status, 206)
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(body.subarray(1_000_000, 1_001_000)))
    assert.deepEqual(gw.log.errors, [])
  })

  test('HEAD still answers the full offset after the aborted downloads', async () => {
    const res = await fetch(url, { method: 'HEAD', headers: TUS })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('upload-offset'), String(body.length))
  })
})
