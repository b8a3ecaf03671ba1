// Deferred-length attempts (the split of an in-flight partition, docs/reconciliation.md): an
// attempt created with `Upload-Defer-Length: 1` and no `tessera-sha256` gets its digest on the PATCH
// that declares its length (`Tessera-Sha256`), and is verified against it at its last byte.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { TUS, blocksOf, download, head, idOf, metadata, patch, startGateway, bytes, trailedPatch, type TestGateway } from './helpers/gateway.js'
import { createAttempt, createDeferredAttempt, eventsOf, partitionsSha256, postFinal, sha256 } from './helpers/reconciliation.js'

const HANG_GUARD = { timeout: 30_000 }
let sessions = 0
const session = (): string => `d${(sessions += 1)}x${Date.now().toString(36)}`

describe('deferred-length attempts (Tessera-Sha256)', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB'])
  })
  after(() => gw.close())

  const empty = new Uint8Array(0)
  async function patchOk(url: string, offset: number, body: Uint8Array, headers: Record<string, string> = {}): Promise<void> {
    const res = await patch(url, offset, body, headers)
    assert.equal(res.status, 204, await res.text())
  }

  test('a split: the partial is ended at its offset with the digest of its bytes, verified; the rest is a new partition; the final verifies from the partition list', HANG_GUARD, async () => {
    const s = session()
    const file = bytes(100_000, 51)
    const cut = 37_000
    const a = await createDeferredAttempt(gw.endpoint, `${s}/0`, 0, 0)
    assert.equal((await head(a)).headers.get('upload-defer-length'), '1')
    await patchOk(a, 0, file.subarray(0, 20_000))
    await patchOk(a, 20_000, file.subarray(20_000, cut)) // the running hash follows it, though no digest is known yet
    const end = await patch(a, cut, empty, { 'Upload-Length': String(cut), 'Tessera-Sha256': sha256(file.subarray(0, cut)) })
    assert.equal(end.status, 204, await end.text())
    assert.equal(end.headers.get('upload-offset'), String(cut))
    const h = await head(a)
    assert.equal(h.headers.get('upload-length'), String(cut))
    const events = await eventsOf(gw, idOf(a))
    assert.deepEqual(events.map((e) => e.event), ['attempt-created', 'attempt-won'])
    assert.equal(events[1]!.bytes, cut)
    assert.equal((events[1] as { reason?: string }).reason, undefined, 'won verified, not "unverified"')
    assert.ok(!gw.log.lines.some((l) => l.msg === 'rebuilding an attempt hash from its stored bytes' && (l.obj as { uploadId?: string }).uploadId === idOf(a)))

    // The rest [cut, end) as a new partition with the next index, itself deferred, length + digest + body in one PATCH.
    const b = await createDeferredAttempt(gw.endpoint, `${s}/1`, cut, 0)
    await patchOk(b, 0, file.subarray(cut), { 'Upload-Length': String(file.length - cut), 'Tessera-Sha256': sha256(file.subarray(cut)) })
    const final = await postFinal(gw.endpoint, [a, b], { 'tessera-partitions-sha256': partitionsSha256(file, [0, cut, file.length]) })
    assert.equal(final.status, 201, await final.text())
    const [verified] = await eventsOf(gw, idOf(final.headers.get('location')!))
    assert.equal(verified!.event, 'final-verified')
    assert.equal(verified!.verifyRead, false)
    assert.ok((await download(final.headers.get('location')!)).equals(file))
  })

  test('a wrong Tessera-Sha256 → 460 at the last byte: the attempt is rejected and freed, another attempt can still win', HANG_GUARD, async () => {
    const s = session()
    const data = bytes(30_000, 52)
    const a = await createDeferredAttempt(gw.endpoint, `${s}/0`, 0, 0)
    await patchOk(a, 0, data.subarray(0, 12_000))
    const wrong = sha256(data.subarray(0, 11_999))
    const end = await patch(a, 12_000, empty, { 'Upload-Length': '12000', 'Tessera-Sha256': wrong })
    assert.equal(end.status, 460, await end.text())
    assert.equal(end.headers.get('tessera-error-code'), 'TESSERA_ERR_CHECKSUM_MISMATCH')
    assert.deepEqual(await blocksOf(gw, idOf(a)), [])
    assert.equal((await head(a)).status, 410)
    assert.deepEqual((await eventsOf(gw, idOf(a))).map((e) => e.event), ['attempt-created', 'attempt-rejected'])

    // Same for a digest sent with the body: the bytes are committed, then found wrong.
    const b = await createDeferredAttempt(gw.endpoint, `${s}/0`, 0, 1)
    const bad = await patch(b, 0, data.subarray(0, 12_000), { 'Upload-Length': '12000', 'Tessera-Sha256': wrong })
    assert.equal(bad.status, 460)
    const c = await createDeferredAttempt(gw.endpoint, `${s}/0`, 0, 2)
    await patchOk(c, 0, data.subarray(0, 12_000), { 'Upload-Length': '12000', 'Tessera-Sha256': sha256(data.subarray(0, 12_000)) })
    assert.deepEqual((await eventsOf(gw, idOf(c))).map((e) => e.event), ['attempt-created', 'attempt-won'])
  })

  test('Tessera-Sha256 malformed, without Upload-Length, contradicting a digest, on a length that was not deferred, or on a stock upload → 400, nothing changed', HANG_GUARD, async () => {
    const s = session()
    const data = bytes(8_000, 53)
    const a = await createDeferredAttempt(gw.endpoint, `${s}/0`, 0, 0)
    await patchOk(a, 0, data.subarray(0, 4_000))
    const refused = async (url: string, offset: number, headers: Record<string, string>): Promise<void> => {
      const res = await patch(url, offset, empty, headers)
      assert.equal(res.status, 400, `${JSON.stringify(headers)}: ${res.status}`)
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_HEADER')
    }
    await refused(a, 4_000, { 'Upload-Length': '4000', 'Tessera-Sha256': 'not-base64!' })
    await refused(a, 4_000, { 'Upload-Length': '4000', 'Tessera-Sha256': Buffer.alloc(16).toString('base64') })
    await refused(a, 4_000, { 'Tessera-Sha256': sha256(data.subarray(0, 4_000)) })
    let h = await head(a)
    assert.equal(h.headers.get('upload-offset'), '4000')
    assert.equal(h.headers.get('upload-defer-length'), '1', 'the length is still deferred')

    // An attempt created with its length and digest: a different digest contradicts it, the same is accepted.
    const fixed = await createAttempt(gw.endpoint, `${s}/1`, 8_000, 0, data)
    await refused(fixed, 0, { 'Upload-Length': String(data.length), 'Tessera-Sha256': sha256(data.subarray(1)) })
    await patchOk(fixed, 0, data.subarray(0, 100), { 'Upload-Length': String(data.length), 'Tessera-Sha256': sha256(data) })
    // Created with its length but no digest: the digest may only come with a deferred length.
    const plain = await createAttempt(gw.endpoint, `${s}/2`, 16_000, 0, data, null)
    await refused(plain, 0, { 'Upload-Length': String(data.length), 'Tessera-Sha256': sha256(data) })
    // A stock upload is no Tessera attempt.
    const stock = await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Defer-Length': '1', 'Upload-Metadata': metadata({ filename: 'x' }) } })
    assert.equal(stock.status, 201)
    await refused(stock.headers.get('location')!, 0, { 'Upload-Length': '10', 'Tessera-Sha256': sha256(data) })
    h = await head(stock.headers.get('location')!)
    assert.equal(h.headers.get('upload-defer-length'), '1')

    // The good end still works after the refusals.
    await patchOk(a, 4_000, empty, { 'Upload-Length': '4000', 'Tessera-Sha256': sha256(data.subarray(0, 4_000)) })
    assert.deepEqual((await eventsOf(gw, idOf(a))).map((e) => e.event), ['attempt-created', 'attempt-won'])
  })

  test('length-trailer: Upload-Length and Tessera-Sha256 as trailers of the PATCH that sends the last byte end the attempt in one request, verified', HANG_GUARD, async () => {
    const s = session()
    const file = bytes(50_000, 54)
    const a = await createDeferredAttempt(gw.endpoint, `${s}/0`, 0, 0)
    await patchOk(a, 0, file.subarray(0, 10_000))
    const end = await trailedPatch(a, 10_000, file.subarray(10_000), { 'Upload-Length': String(file.length), 'Tessera-Sha256': sha256(file) })
    assert.equal(end.status, 204, end.body)
    assert.equal(end.headers['upload-offset'], String(file.length))
    assert.equal((await head(a)).headers.get('upload-length'), String(file.length))
    const events = await eventsOf(gw, idOf(a))
    assert.deepEqual(events.map((e) => e.event), ['attempt-created', 'attempt-won'])
    assert.equal((events[1] as { reason?: string }).reason, undefined, 'won verified, not "unverified"')
    const final = await postFinal(gw.endpoint, [a], { 'tessera-partitions-sha256': partitionsSha256(file, [0, file.length]) })
    assert.equal(final.status, 201, await final.text())
    assert.ok((await download(final.headers.get('location')!)).equals(file))
  })

  test('length-trailer: a wrong digest → 460 and the attempt is rejected; a body cut before its trailers keeps its bytes and leaves the length open; a digest trailer alone → 400', HANG_GUARD, async () => {
    const s = session()
    const data = bytes(30_000, 55)
    const a = await createDeferredAttempt(gw.endpoint, `${s}/0`, 0, 0)
    const wrong = await trailedPatch(a, 0, data, { 'Upload-Length': String(data.length), 'Tessera-Sha256': sha256(data.subarray(1)) })
    assert.equal(wrong.status, 460, wrong.body)
    assert.equal(wrong.headers['tessera-error-code'], 'TESSERA_ERR_CHECKSUM_MISMATCH')
    assert.deepEqual(await blocksOf(gw, idOf(a)), [])
    assert.equal((await head(a)).status, 410)

    const b = await createDeferredAttempt(gw.endpoint, `${s}/0`, 0, 1)
    assert.equal((await trailedPatch(b, 0, data, { 'Upload-Length': String(data.length), 'Tessera-Sha256': sha256(data) }, { cut: true })).status, 0)
    const h = await head(b) // takes the lock: the cut PATCH has committed what arrived
    assert.equal(h.headers.get('upload-defer-length'), '1', 'no trailer arrived: the length is still deferred')
    const kept = Number(h.headers.get('upload-offset'))
    assert.ok(kept > 0 && kept <= data.length, `kept ${kept}`)

    const alone = await trailedPatch(b, kept, data.subarray(kept), { 'Tessera-Sha256': sha256(data) })
    assert.equal(alone.status, 400, alone.body)
    assert.equal(alone.headers['tessera-error-code'], 'TESSERA_ERR_INVALID_HEADER')
    assert.equal((await head(b)).headers.get('upload-offset'), String(data.length), 'the body before the bad trailer is kept')
    await patchOk(b, data.length, empty, { 'Upload-Length': String(data.length), 'Tessera-Sha256': sha256(data) })
    assert.deepEqual((await eventsOf(gw, idOf(b))).map((e) => e.event), ['attempt-created', 'attempt-won'])
  })

  test('CORS: browsers may send Tessera-Sha256', HANG_GUARD, async () => {
    const res = await fetch(gw.endpoint, { method: 'OPTIONS', headers: { Origin: 'http://app.example', 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'tessera-sha256' } })
    assert.ok((res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/).includes('tessera-sha256'))
  })
})
