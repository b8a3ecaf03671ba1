// Expiration extension, on an injected clock: unfinished uploads expire and lose their blocks,
// finished ones never do. One test runs the real sweep timer of createGateway.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sweepExpired } from '../src/expiry-sweep.js'
import { OCTET, TUS, blocksOf, bytes, create, download, eventually, head, idOf, patch, startGateway, upload, type TestGateway } from './helpers/gateway.js'

const HOUR = 3600e3

describe('expiration (injected clock)', () => {
  let gw: TestGateway
  let clock = Date.parse('2030-01-01T00:00:00Z')
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB', '--expire-after', '1h'], { now: () => clock })
  })
  after(() => gw.close())

  test('Upload-Expires is --expire-after past the last write', async () => {
    const url = await create(gw, { 'Upload-Length': '100' })
    assert.equal(Date.parse((await head(url)).headers.get('upload-expires')!), clock + HOUR)
    clock += HOUR / 2
    const res = await patch(url, 0, bytes(10))
    assert.equal(Date.parse(res.headers.get('upload-expires')!), clock + HOUR)
  })

  test('an empty upload (Upload-Length: 0) is finished at creation: no Upload-Expires, never swept', async () => {
    const url = await create(gw, { 'Upload-Length': '0' })
    assert.equal((await head(url)).headers.get('upload-expires'), null)
    clock += 2 * HOUR
    await sweepExpired(gw.app.context)
    const h = await head(url)
    assert.equal(h.status, 200)
    assert.equal(h.headers.get('upload-offset'), '0')
    assert.equal((await download(url)).length, 0)
  })

  test('an unfinished upload answers 410 after expiry and its blocks are removed', async () => {
    const url = await create(gw, { 'Upload-Length': '100000' })
    await patch(url, 0, bytes(40_000))
    const id = idOf(url)
    assert.ok((await blocksOf(gw, id)).length > 0)
    clock += HOUR - 1
    assert.equal((await head(url)).status, 200)
    clock += 1
    const h = await head(url)
    assert.equal(h.status, 410)
    assert.equal(h.headers.get('tessera-error-code'), 'TESSERA_ERR_GONE')
    assert.equal((await patch(url, 40_000, bytes(1))).status, 410)
    assert.deepEqual(await blocksOf(gw, id), [])
  })

  test('the sweep removes expired uploads nobody asks about', async () => {
    const url = await create(gw, { 'Upload-Length': '100000' })
    await patch(url, 0, bytes(30_000))
    const id = idOf(url)
    clock += HOUR + 1
    await sweepExpired(gw.app.context)
    assert.deepEqual(await blocksOf(gw, id), [])
    assert.equal((await head(url)).status, 410)
    // One more expire-after later the tombstone is forgotten too: 404.
    clock += HOUR + 1
    await sweepExpired(gw.app.context)
    assert.equal((await head(url)).status, 404)
  })

  test('a finished upload never expires (PATCH, creation-with-upload, deferred, final)', async () => {
    const viaPatch = await upload(gw, bytes(20_000, 1))
    const viaPost = (await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '20000', 'Content-Type': OCTET }, body: bytes(20_000, 2) })).headers.get('location')!
    const deferred = await create(gw, { 'Upload-Defer-Length': '1' })
    await patch(deferred, 0, bytes(20_000, 3), { 'Upload-Length': '20000' })
    const partial = await upload(gw, bytes(20_000, 4), { 'Upload-Concat': 'partial' })
    const final = (await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Concat': `final;${partial}` } })).headers.get('location')!
    for (const url of [viaPatch, viaPost, deferred, final]) assert.equal((await head(url)).headers.get('upload-expires'), null, url)

    clock += 10 * HOUR
    await sweepExpired(gw.app.context)
    clock += 10 * HOUR
    await sweepExpired(gw.app.context)
    const expected = [bytes(20_000, 1), bytes(20_000, 2), bytes(20_000, 3), bytes(20_000, 4)]
    for (const [i, url] of [viaPatch, viaPost, deferred, final].entries()) {
      assert.equal((await head(url)).status, 200, url)
      assert.deepEqual(await download(url), expected[i], url)
    }
  })

  test('an upload filled to its length by an overflowing PATCH is finished and does not expire', async () => {
    const url = await create(gw, { 'Upload-Length': '1000' })
    const body = bytes(1500, 5)
    // Chunked: the overflow is only seen mid-stream.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(body.subarray(0, 700))
        c.enqueue(body.subarray(700))
        c.close()
      },
    })
    const res = await patch(url, 0, stream)
    assert.equal(res.status, 413)
    clock += 10 * HOUR
    await sweepExpired(gw.app.context)
    // What arrived up to Upload-Length is kept: the upload is finished, so it must not expire.
    const h = await head(url)
    assert.equal(h.status, 200)
    assert.equal(h.headers.get('upload-offset'), '1000')
    assert.equal(h.headers.get('upload-expires'), null)
    assert.deepEqual(await download(url), body.subarray(0, 1000))
  })
})

describe('expiration (real sweep timer)', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB', '--expire-after', '1s'])
  })
  after(() => gw.close())

  test('an unfinished upload is swept by the timer; a finished one stays', async () => {
    const unfinished = await create(gw, { 'Upload-Length': '100000' })
    await patch(unfinished, 0, bytes(20_000))
    const finished = await upload(gw, bytes(20_000, 9))
    const id = idOf(unfinished)
    assert.ok((await blocksOf(gw, id)).length > 0)
    // Nobody asks about it: only the sweep can remove its blocks.
    await eventually(async () => (await blocksOf(gw, id)).length === 0, 15_000)
    assert.equal((await head(unfinished)).status, 410)
    assert.deepEqual(await download(finished), bytes(20_000, 9))
  })
})
