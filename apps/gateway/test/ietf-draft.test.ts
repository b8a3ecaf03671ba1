// The IETF resumable-upload draft on the gateway (interop versions 6–8), side by side with tus 1.0
// on the same port: a client written from the draft on node:http (it sees the 104 interim
// responses), and tus-js-client's own draft mode (`protocol: 'ietf-draft-05'`, interop 6).
import assert from 'node:assert/strict'
import { request, type IncomingHttpHeaders } from 'node:http'
import { after, before, describe, test } from 'node:test'
import * as tus from 'tus-js-client'
import { SECRET, hsToken } from './helpers/auth.js'
import { TUS, bytes, download, startGateway, type TestGateway } from './helpers/gateway.js'

/** A request of the draft's client: the final answer and every 104 before it. */
interface DraftAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly interim: IncomingHttpHeaders[]
}

/**
 * Sends a request of the draft. `body`: its content, sent whole (with Content-Length unless
 * `chunked`); `cutAfter`: send only that many bytes of it, then destroy the socket (what a dropped
 * connection does) — resolves with the interim answers seen by then and status 0.
 */
function draft(url: string, method: string, headers: Record<string, string>, body?: Uint8Array, opts: { chunked?: boolean; cutAfter?: number } = {}): Promise<DraftAnswer> {
  return new Promise((resolve, reject) => {
    const interim: IncomingHttpHeaders[] = []
    const req = request(url, { method, headers: { ...headers, ...(body && !opts.chunked && { 'content-length': String(body.length) }) } })
    req.on('information', (info) => {
      if (info.statusCode === 104) interim.push(info.headers)
    })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, interim }))
    })
    req.on('error', (err) => (opts.cutAfter !== undefined ? resolve({ status: 0, headers: {}, body: '', interim }) : reject(err)))
    if (body === undefined) return void req.end()
    if (opts.cutAfter === undefined) return void req.end(body)
    req.flushHeaders()
    req.write(body.subarray(0, opts.cutAfter), () => setTimeout(() => req.destroy(), 200))
  })
}

/** tus-js-client 4's draft mode (interop 6): implemented (lib.esm/upload.js), not in its type declarations. */
const DRAFT_MODE = { protocol: 'ietf-draft-05' } as unknown as Partial<tus.UploadOptions>
const V = (version: number) => ({ 'upload-draft-interop-version': String(version) })
const problem = (a: DraftAnswer): { type: string; [k: string]: unknown } => JSON.parse(a.body)

describe('IETF resumable-upload draft', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '64KiB', '--expire-after', '1h'])
  })
  after(() => gw.close())

  for (const version of [6, 8]) {
    test(`interop ${version}: an upload sent whole in one POST with Upload-Complete: ?1 is stored; 104 and the answer name it; HEAD says complete`, async () => {
      const data = bytes(300_000, version)
      const r = await draft(gw.endpoint, 'POST', { ...V(version), 'upload-complete': '?1', 'content-type': 'image/png', 'content-disposition': `inline; filename="photo ${version}.png"` }, data)
      assert.equal(r.status, 201, r.body)
      const location = r.headers['location']!
      assert.match(location, new RegExp(`^${gw.endpoint}/[0-9a-f]{32}$`))
      assert.equal(r.interim.length, 1, 'one 104 Upload Resumption Supported')
      assert.equal(r.interim[0]!['location'], location, 'the 104 names the same upload')
      assert.equal(r.interim[0]!['upload-draft-interop-version'], String(version))
      assert.equal(r.headers['upload-complete'], '?1')
      assert.equal(r.headers['upload-offset'], String(data.length))

      const h = await draft(location, 'HEAD', V(version))
      assert.equal(h.status, 204)
      assert.deepEqual([h.headers['upload-offset'], h.headers['upload-complete'], h.headers['upload-length'], h.headers['cache-control']], [String(data.length), '?1', String(data.length), 'no-store'])
      assert.deepEqual(await download(location), data)
      // The same upload through tus 1.0, on the same port.
      const t = await fetch(location, { method: 'HEAD', headers: TUS })
      assert.equal(t.headers.get('upload-offset'), String(data.length))
      const meta = Object.fromEntries((t.headers.get('upload-metadata') ?? '').split(',').map((kv) => kv.split(' ')).map(([k, v]) => [k, Buffer.from(v ?? '', 'base64').toString()]))
      assert.deepEqual([meta['filename'], meta['filetype']], [`photo ${version}.png`, 'image/png'])
    })
  }

  test('creation with a first part (?0), offset retrieval, then appends in application/partial-upload until ?1', async () => {
    const data = bytes(500_000, 11)
    const created = await draft(gw.endpoint, 'POST', { ...V(7), 'upload-complete': '?0', 'upload-length': String(data.length) }, data.subarray(0, 200_000))
    assert.equal(created.status, 201, created.body)
    const url = created.headers['location']!
    assert.equal(created.headers['upload-complete'], '?0')
    assert.equal(created.headers['upload-offset'], '200000')
    assert.match(String(created.headers['upload-limit']), /^max-age=(3599|3600)$/, 'interop 7 calls the lifetime max-age')
    const h = await draft(url, 'HEAD', V(6))
    assert.deepEqual([h.headers['upload-offset'], h.headers['upload-complete'], h.headers['upload-length']], ['200000', '?0', '500000'])
    assert.match(String(h.headers['upload-limit']), /^expires=(3599|3600)$/, 'interop 6 calls it expires')

    const mid = await draft(url, 'PATCH', { ...V(7), 'upload-complete': '?0', 'upload-offset': '200000', 'content-type': 'application/partial-upload' }, data.subarray(200_000, 350_000))
    assert.equal(mid.status, 204, mid.body)
    assert.deepEqual([mid.headers['upload-complete'], mid.headers['upload-offset']], ['?0', '350000'])
    const last = await draft(url, 'PATCH', { ...V(7), 'upload-complete': '?1', 'upload-offset': '350000', 'content-type': 'application/partial-upload' }, data.subarray(350_000))
    assert.equal(last.status, 204, last.body)
    assert.deepEqual([last.headers['upload-complete'], last.headers['upload-offset']], ['?1', '500000'])
    assert.equal(last.headers['upload-limit'], undefined, 'a complete upload does not expire')
    assert.deepEqual(await download(url), data)
  })

  test('a creation cut mid-body: the 104 named the upload, HEAD gives what arrived, an append completes it', async () => {
    const data = bytes(1_000_000, 12)
    const cut = await draft(gw.endpoint, 'POST', { ...V(8), 'upload-complete': '?1', 'content-type': 'application/octet-stream' }, data, { cutAfter: 400_000 })
    assert.equal(cut.status, 0, 'no final answer')
    assert.equal(cut.interim.length, 1, 'the 104 came before the body')
    const url = String(cut.interim[0]!['location'])
    const h = await draft(url, 'HEAD', V(8))
    const offset = Number(h.headers['upload-offset'])
    assert.ok(offset > 0 && offset <= 400_000, `kept ${offset} of the 400000 bytes sent`)
    assert.equal(h.headers['upload-complete'], '?0', 'a cut request does not complete the upload')
    const rest = await draft(url, 'PATCH', { ...V(8), 'upload-complete': '?1', 'upload-offset': String(offset), 'content-type': 'application/partial-upload' }, data.subarray(offset))
    assert.equal(rest.status, 204, rest.body)
    assert.equal(rest.headers['upload-complete'], '?1')
    assert.deepEqual(await download(url), data)
  })

  test('a chunked creation with ?1 and no length: the length is where the content ended', async () => {
    const data = bytes(150_001, 13)
    const r = await draft(gw.endpoint, 'POST', { ...V(6), 'upload-complete': '?1' }, data, { chunked: true })
    assert.equal(r.status, 201, r.body)
    assert.deepEqual([r.headers['upload-complete'], r.headers['upload-offset']], ['?1', '150001'])
    const h = await draft(r.headers['location']!, 'HEAD', V(6))
    assert.equal(h.headers['upload-length'], '150001')
    assert.deepEqual(await download(r.headers['location']!), data)
  })

  test('an empty creation with ?0 makes an upload to append to; an empty one with ?1 is an empty upload', async () => {
    const open = await draft(gw.endpoint, 'POST', { ...V(8), 'upload-complete': '?0' })
    assert.equal(open.status, 201)
    assert.deepEqual([open.headers['upload-complete'], open.headers['upload-offset'], open.headers['upload-length']], ['?0', '0', undefined])
    const empty = await draft(gw.endpoint, 'POST', { ...V(8), 'upload-complete': '?1' })
    assert.equal(empty.status, 201)
    assert.deepEqual([empty.headers['upload-complete'], empty.headers['upload-length']], ['?1', '0'])
    assert.equal((await download(empty.headers['location']!)).length, 0)
  })

  test('bad requests get the draft\'s problem types or the tus status, and change nothing', async () => {
    const data = bytes(100_000, 14)
    const url = (await draft(gw.endpoint, 'POST', { ...V(8), 'upload-complete': '?0', 'upload-length': '100000' }, data.subarray(0, 40_000))).headers['location']!
    const patchAt = (offset: number, complete: string, body: Uint8Array, extra: Record<string, string> = {}) =>
      draft(url, 'PATCH', { ...V(8), 'upload-complete': complete, 'upload-offset': String(offset), 'content-type': 'application/partial-upload', ...extra }, body)

    const mismatch = await patchAt(10, '?0', data.subarray(10, 20))
    assert.equal(mismatch.status, 409)
    assert.equal(mismatch.headers['upload-offset'], '40000', 'the answer says the right offset')
    assert.equal(mismatch.headers['content-type'], 'application/problem+json; charset=utf-8')
    assert.deepEqual({ ...problem(mismatch), title: undefined }, { type: 'https://iana.org/assignments/http-problem-types#mismatching-upload-offset', title: undefined, 'expected-offset': 40000, 'provided-offset': 10 })

    assert.equal((await patchAt(40_000, '?0', data.subarray(40_000, 50_000), { 'content-type': 'application/offset+octet-stream' })).status, 415)
    assert.equal((await draft(url, 'PATCH', { ...V(8), 'upload-offset': '40000', 'content-type': 'application/partial-upload' }, data.subarray(40_000, 50_000))).status, 400, 'Upload-Complete is required')
    assert.equal((await patchAt(40_000, 'yes', data.subarray(40_000, 50_000))).status, 400)
    assert.equal((await draft(url, 'HEAD', V(5))).status, 400, 'interop 5 is not understood')
    const short = await patchAt(40_000, '?1', data.subarray(40_000, 90_000))
    assert.equal(short.status, 400)
    assert.equal(problem(short).type, 'https://iana.org/assignments/http-problem-types#inconsistent-upload-length')
    const past = await patchAt(40_000, '?0', bytes(70_000, 15))
    assert.equal(problem(past).type, 'https://iana.org/assignments/http-problem-types#inconsistent-upload-length')
    assert.equal((await draft(url, 'HEAD', V(8))).headers['upload-offset'], '40000', 'none of it was stored')

    assert.equal((await patchAt(40_000, '?1', data.subarray(40_000))).status, 204)
    const again = await patchAt(100_000, '?1', new Uint8Array(0))
    assert.equal(problem(again).type, 'https://iana.org/assignments/http-problem-types#completed-upload')
    const more = await patchAt(100_000, '?0', bytes(10, 16))
    assert.equal(problem(more).type, 'https://iana.org/assignments/http-problem-types#inconsistent-upload-length')
    const lying = await draft(gw.endpoint, 'POST', { ...V(8), 'upload-complete': '?1', 'upload-length': '5' }, bytes(9, 17))
    assert.equal(problem(lying).type, 'https://iana.org/assignments/http-problem-types#inconsistent-upload-length')
    assert.equal((await draft(gw.endpoint, 'POST', V(8), bytes(9, 17))).status, 400, 'a creation needs Upload-Complete')
    assert.deepEqual(await download(url), data)
  })

  test('cancellation: DELETE answers 204, the upload is gone; OPTIONS announces partial-upload appends', async () => {
    const url = (await draft(gw.endpoint, 'POST', { ...V(8), 'upload-complete': '?0' }, bytes(1000, 18))).headers['location']!
    assert.equal((await draft(url, 'DELETE', V(8))).status, 204)
    assert.equal((await draft(url, 'HEAD', V(8))).status, 410)
    const options = await fetch(gw.endpoint, { method: 'OPTIONS' })
    assert.equal(options.headers.get('accept-patch'), 'application/partial-upload')
  })

  test("tus-js-client's draft mode (protocol ietf-draft-05, interop 6): chunked appends, an abort, a resume from the server's offset", async () => {
    const data = bytes(700_000, 19)
    const start = (uploadUrl?: string) =>
      new Promise<{ url: string; resumedAt?: number }>((resolve, reject) => {
        let resumedAt: number | undefined
        const u: tus.Upload = new tus.Upload(data, {
          endpoint: gw.endpoint,
          ...DRAFT_MODE,
          chunkSize: 128 * 1024,
          retryDelays: [],
          metadata: { filename: 'tus-js-client.bin' },
          ...(uploadUrl && { uploadUrl }),
          onChunkComplete: (_size, acked) => {
            resumedAt ??= acked
            if (!uploadUrl && acked >= 256 * 1024) {
              void u.abort()
              resolve({ url: u.url! })
            }
          },
          onSuccess: () => resolve({ url: u.url!, ...(resumedAt !== undefined && { resumedAt }) }),
          onError: reject,
        })
        u.start()
      })
    const first = await start()
    const second = await start(first.url)
    assert.equal(second.url, first.url)
    assert.ok((second.resumedAt ?? 0) > 256 * 1024, `the resumed upload's first chunk ended at ${second.resumedAt}: it began at the server's offset`)
    assert.deepEqual(await download(first.url), data)
  })
})

describe('IETF resumable-upload draft under --auth jwt', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--auth', 'jwt', '--jwt-secret', SECRET])
  })
  after(() => gw.close())

  test("the token's owner owns a draft upload: another owner's HEAD and append answer as for no upload, none gets 401", async () => {
    const alice = { authorization: `Bearer ${await hsToken({ sub: 'alice' })}` }
    const bob = { authorization: `Bearer ${await hsToken({ sub: 'bob' })}` }
    const created = await draft(gw.endpoint, 'POST', { ...V(8), ...alice, 'upload-complete': '?0' }, bytes(1000, 20))
    assert.equal(created.status, 201, created.body)
    const url = created.headers['location']!
    assert.equal((await draft(url, 'HEAD', { ...V(8), ...alice })).headers['upload-offset'], '1000')
    const theirs = await draft(url, 'HEAD', { ...V(8), ...bob })
    const nobody = await draft(`${gw.endpoint}/${'0'.repeat(32)}`, 'HEAD', { ...V(8), ...bob })
    assert.deepEqual([theirs.status, theirs.headers['tessera-error-code']], [nobody.status, nobody.headers['tessera-error-code']])
    assert.equal(theirs.status, 404)
    const append = await draft(url, 'PATCH', { ...V(8), ...bob, 'upload-complete': '?1', 'upload-offset': '1000', 'content-type': 'application/partial-upload' }, bytes(10, 21))
    assert.equal(append.status, 404)
    assert.equal((await draft(gw.endpoint, 'POST', { ...V(8), 'upload-complete': '?1' }, bytes(10, 22))).status, 401)
    assert.equal((await draft(url, 'HEAD', { ...V(8), ...alice })).headers['upload-offset'], '1000', 'nothing was appended')
  })
})
