// Checksum extension: verified bodies are stored, mismatches commit nothing (460).
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { OCTET, TUS, blocksOf, bytes, create, download, idOf, offsetOf, patch, startGateway, type TestGateway } from './helpers/gateway.js'

const digest = (alg: string, body: Uint8Array): string => createHash(alg).update(body).digest('base64')

describe('checksum', () => {
  let gw: TestGateway
  before(async () => {
    // 4 KiB blocks, 4+2: a stripe holds 16 KiB, so small bodies cross several stripes.
    gw = await startGateway(['--block-size', '4KiB'])
  })
  after(() => gw.close())

  for (const alg of ['sha1', 'sha256']) {
    test(`a correct ${alg} checksum stores the body`, async () => {
      const body = bytes(40_000, 11)
      const url = await create(gw, { 'Upload-Length': String(body.length) })
      const res = await patch(url, 0, body, { 'Upload-Checksum': `${alg} ${digest(alg, body)}` })
      assert.equal(res.status, 204)
      assert.equal(res.headers.get('upload-offset'), '40000')
      assert.deepEqual(await download(url), body)
    })
  }

  test('a mismatch answers 460 and commits none of the body, even when it spans several stripes', async () => {
    const first = bytes(1000, 1)
    const body = bytes(50_000, 12) // > 3 stripes of 16 KiB
    const url = await create(gw, { 'Upload-Length': String(first.length + body.length) })
    assert.equal((await patch(url, 0, first)).status, 204)
    const blocksBefore = (await blocksOf(gw, idOf(url))).sort()

    const wrong = digest('sha256', bytes(50_000, 13))
    const res = await patch(url, 1000, body, { 'Upload-Checksum': `sha256 ${wrong}` })
    assert.equal(res.status, 460)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_CHECKSUM_MISMATCH')
    assert.notEqual((await res.text()).trim(), '')
    assert.equal(await offsetOf(url), 1000)
    // The staged stripes were removed, not just left unreferenced.
    assert.deepEqual((await blocksOf(gw, idOf(url))).sort(), blocksBefore)

    // The same bytes with the right digest go through afterwards.
    const ok = await patch(url, 1000, body, { 'Upload-Checksum': `sha1 ${digest('sha1', body)}` })
    assert.equal(ok.status, 204)
    assert.deepEqual(await download(url), Buffer.concat([first, body]))
  })

  test('a mismatch on creation-with-upload stores nothing', async () => {
    const body = bytes(30_000, 14)
    const res = await fetch(gw.endpoint, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': '30000', 'Content-Type': OCTET, 'Upload-Checksum': `sha1 ${digest('sha1', bytes(30_000, 15))}` },
      body,
    })
    assert.equal(res.status, 460)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_CHECKSUM_MISMATCH')
    const location = res.headers.get('location')
    assert.ok(location, 'the upload was created before its body failed the checksum')
    assert.equal(await offsetOf(location), 0)
  })

  test('a correct checksum on creation-with-upload stores the body', async () => {
    const body = bytes(30_000, 16)
    const res = await fetch(gw.endpoint, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': '30000', 'Content-Type': OCTET, 'Upload-Checksum': `sha256 ${digest('sha256', body)}` },
      body,
    })
    assert.equal(res.status, 201)
    assert.equal(res.headers.get('upload-offset'), '30000')
    assert.deepEqual(await download(res.headers.get('location')!), body)
  })

  test('an unsupported algorithm answers 400 and stores nothing', async () => {
    const url = await create(gw, { 'Upload-Length': '10' })
    const res = await patch(url, 0, bytes(10), { 'Upload-Checksum': `crc32 ${Buffer.alloc(4).toString('base64')}` })
    assert.equal(res.status, 400)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_UNSUPPORTED_CHECKSUM')
    assert.equal(await offsetOf(url), 0)
  })

  test('a malformed checksum header answers 400 and stores nothing', async () => {
    const url = await create(gw, { 'Upload-Length': '10' })
    const body = bytes(10)
    const sha1 = digest('sha1', body)
    for (const value of ['sha1', `sha1 ${sha1} extra`, 'sha1 !!!notbase64', `sha1 ${digest('sha256', body)}`, `sha1  ${sha1}`, ` `, `sha1 ${sha1.replace(/=+$/, '')}`]) {
      const res = await patch(url, 0, body, { 'Upload-Checksum': value })
      assert.equal(res.status, 400, JSON.stringify(value))
      assert.ok(res.headers.get('tessera-error-code'), JSON.stringify(value))
      assert.notEqual((await res.text()).trim(), '')
    }
    assert.equal(await offsetOf(url), 0)
  })
})
