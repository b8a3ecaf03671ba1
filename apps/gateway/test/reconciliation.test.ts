// Gateway side of reconciliation (issue 4, seed 001 §3): attempts of one partition, first verified
// wins, losers told to stop and freed, finals resolved to winners and checked, the event log.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { TUS, blocksOf, bytes, download, head, idOf, listFiles, metadata, parseRawResponse, patch, stalledPatch, startGateway, upload, waitForStalledWrite, type TestGateway } from './helpers/gateway.js'
import { createAttempt, eventsOf, partitionsSha256, postAttempt, postFinal, readEvents, sha256 } from './helpers/reconciliation.js'

const HANG_GUARD = { timeout: 30_000 }
let sessions = 0
/** A fresh client session id per test, so partitions never collide. */
const session = (): string => `s${(sessions += 1)}x${Date.now().toString(36)}`

describe('reconciliation', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startGateway(['--block-size', '4KiB'])
  })
  after(() => gw.close())

  const path = (url: string): string => new URL(url).pathname
  async function patchOk(url: string, offset: number, body: Uint8Array): Promise<void> {
    const res = await patch(url, offset, body)
    assert.equal(res.status, 204, await res.text())
  }
  async function assertSuperseded(res: Response, winnerUrl: string): Promise<void> {
    assert.equal(res.status, 410)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_SUPERSEDED')
    assert.equal(res.headers.get('tessera-winner'), path(winnerUrl))
    assert.equal(res.headers.get('upload-offset'), null)
  }

  test('the first attempt to finish with the right digest wins; the loser is told to stop and freed', HANG_GUARD, async () => {
    const data = bytes(40_000, 7)
    const partition = `${session()}/0`
    const a = await createAttempt(gw.endpoint, partition, 0, 0, data)
    const b = await createAttempt(gw.endpoint, partition, 0, 1, data)
    await patchOk(b, 0, data.subarray(0, 20_000)) // the hedge has stored bytes when the first attempt wins
    assert.ok((await blocksOf(gw, idOf(b))).length > 0)

    await patchOk(a, 0, data.subarray(0, 25_000))
    const winning = await patch(a, 25_000, data.subarray(25_000))
    assert.equal(winning.status, 204)
    assert.equal(winning.headers.get('upload-offset'), String(data.length))

    await assertSuperseded(await patch(b, 20_000, data.subarray(20_000)), a)
    await assertSuperseded(await head(b), a)
    const del = await fetch(b, { method: 'DELETE', headers: TUS })
    assert.equal(del.status, 410) // already gone: our client counts 404/410 on DELETE as done
    assert.deepEqual(await blocksOf(gw, idOf(b)), [])
    assert.ok((await blocksOf(gw, idOf(a))).length > 0)
    assert.equal((await head(a)).headers.get('upload-offset'), String(data.length))

    const [created, won] = [await eventsOf(gw, idOf(a)), await eventsOf(gw, idOf(b))]
    assert.deepEqual(created.map((e) => e.event), ['attempt-created', 'attempt-won'])
    assert.equal(created[1]!.bytes, data.length)
    assert.equal(created[1]!.partition, partition)
    assert.deepEqual(won.map((e) => e.event), ['attempt-created', 'attempt-lost'])
    const lost = won[1]!
    assert.equal(lost.bytes, 20_000)
    assert.equal(lost.winner, idOf(a))
    assert.equal(lost.attempt, 1)
    assert.ok(!Number.isNaN(Date.parse(lost.time)))
  })

  test('a final naming the loser resolves to the winner and the download is identical', HANG_GUARD, async () => {
    const s = session()
    const file = bytes(70_000, 11)
    const p0 = file.subarray(0, 30_000)
    const p1 = file.subarray(30_000)
    const a0 = await createAttempt(gw.endpoint, `${s}/0`, 0, 0, p0)
    const b0 = await createAttempt(gw.endpoint, `${s}/0`, 0, 1, p0)
    const a1 = await createAttempt(gw.endpoint, `${s}/1`, 30_000, 0, p1)
    await patchOk(b0, 0, p0.subarray(0, 5_000))
    await patchOk(a0, 0, p0)
    await patchOk(a1, 0, p1)

    const res = await postFinal(gw.endpoint, [b0, a1], { filename: 'f.bin', 'tessera-partitions-sha256': partitionsSha256(file, [0, 30_000, 70_000]) })
    assert.equal(res.status, 201, await res.text())
    const final = res.headers.get('location')!
    assert.ok((await download(final)).equals(file))
    const concat = (await head(final)).headers.get('upload-concat')!
    assert.deepEqual(concat.slice('final;'.length).split(' '), [path(a0), path(a1)])
    const events = await eventsOf(gw, idOf(final))
    assert.equal(events.length, 1)
    assert.equal(events[0]!.event, 'final-verified')
    assert.equal(events[0]!.bytes, file.length)
    assert.deepEqual(events[0]!.parts, [idOf(a0), idOf(a1)])
    assert.equal(typeof events[0]!.verifyMs, 'number')
    assert.equal(events[0]!.verifyRead, false, 'the partition list is checked from the verified digests: no read at the final')
    // The loser's bytes went when the winner won; the final stored nothing twice.
    assert.deepEqual(await blocksOf(gw, idOf(b0)), [])
  })

  test('partitions must cover the file: gap, overlap, and both attempts of one partition → 400', HANG_GUARD, async () => {
    const s = session()
    const file = bytes(50_000, 13)
    const p0 = file.subarray(0, 20_000)
    const p1 = file.subarray(20_000)
    const a0 = await createAttempt(gw.endpoint, `${s}/0`, 0, 0, p0)
    const b0 = await createAttempt(gw.endpoint, `${s}/0`, 0, 1, p0)
    const a1 = await createAttempt(gw.endpoint, `${s}/1`, 20_000, 0, p1)
    const a2 = await createAttempt(gw.endpoint, `${s}/2`, 60_000, 0, p0)
    await patchOk(a0, 0, p0)
    await patchOk(a1, 0, p1)
    await patchOk(a2, 0, p0)
    const before = await listFiles(join(gw.dataDir, 'meta', 'uploads'))

    const cases: [string, string[], RegExp][] = [
      ['gap at the start', [a1], /gap/],
      ['gap in the middle', [a0, a1, a2], /gap/],
      ['reversed order', [a1, a0], /gap/],
      ['both attempts of one partition', [a0, b0, a1], /overlap/],
      ['one partition twice', [a0, a0, a1], /overlap/],
    ]
    for (const [what, urls, message] of cases) {
      const res = await postFinal(gw.endpoint, urls)
      assert.equal(res.status, 400, what)
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_CONCAT', what)
      assert.match(await res.text(), message, what)
    }
    // A stock partial cannot sit among Tessera partitions: its place in the file is unknown.
    const stock = await upload(gw, bytes(10, 1), { 'Upload-Concat': 'partial' })
    const mixed = await postFinal(gw.endpoint, [a0, stock])
    assert.equal(mixed.status, 400)
    assert.equal(mixed.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_CONCAT')

    assert.deepEqual((await listFiles(join(gw.dataDir, 'meta', 'uploads'))).filter((f) => !before.includes(f)), [`${idOf(stock)}.json`])
    const ok = await postFinal(gw.endpoint, [a0, a1])
    assert.equal(ok.status, 201)
    assert.ok((await download(ok.headers.get('location')!)).equals(file))
  })

  test('a final with tessera-partitions-sha256 is checked from the winners\' digests: a wrong list is 460, an unverified part 400, the right one 201 with nothing read', HANG_GUARD, async () => {
    const s = session()
    const file = bytes(50_000, 23)
    const a0 = await createAttempt(gw.endpoint, `${s}/0`, 0, 0, file.subarray(0, 20_000))
    const a1 = await createAttempt(gw.endpoint, `${s}/1`, 20_000, 0, file.subarray(20_000))
    await patchOk(a0, 0, file.subarray(0, 20_000))
    await patchOk(a1, 0, file.subarray(20_000))
    const uploads = join(gw.dataDir, 'meta', 'uploads')
    const before = await listFiles(uploads)

    // Same bytes, other cuts: every partition digest differs, so the list does.
    const wrong = await postFinal(gw.endpoint, [a0, a1], { 'tessera-partitions-sha256': partitionsSha256(file, [0, 25_000, 50_000]) })
    assert.equal(wrong.status, 460)
    assert.equal(wrong.headers.get('tessera-error-code'), 'TESSERA_ERR_CHECKSUM_MISMATCH')
    assert.deepEqual(await listFiles(uploads), before, 'no final record')
    const rejected = (await readEvents(gw.config.reconciliationLog)).filter((e) => e.event === 'final-rejected' && e.parts?.[0] === idOf(a0))
    assert.deepEqual(rejected.map((e) => [e.reason, e.verifyRead]), [['partition-list SHA-256 mismatch', false]])
    const malformed = await postFinal(gw.endpoint, [a0, a1], { 'tessera-partitions-sha256': 'abc' })
    assert.equal(malformed.status, 400)
    assert.equal(malformed.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_HEADER')

    // A partition that won without a tessera-sha256 has no digest to vouch for it.
    const t = session()
    const u0 = await createAttempt(gw.endpoint, `${t}/0`, 0, 0, file, null)
    await patchOk(u0, 0, file)
    const unverified = await postFinal(gw.endpoint, [u0], { 'tessera-partitions-sha256': partitionsSha256(file, [0, 50_000]) })
    assert.equal(unverified.status, 400)
    assert.equal(unverified.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_CONCAT')

    const ok = await postFinal(gw.endpoint, [a0, a1], { 'tessera-partitions-sha256': partitionsSha256(file, [0, 20_000, 50_000]) })
    assert.equal(ok.status, 201, await ok.text())
    const [verified] = await eventsOf(gw, idOf(ok.headers.get('location')!))
    assert.deepEqual([verified!.event, verified!.verifyRead], ['final-verified', false])
    assert.ok((await download(ok.headers.get('location')!)).equals(file))
  })

  test('tessera-integrity other than sha256 or partitions is a 400', HANG_GUARD, async () => {
    const res = await fetch(gw.endpoint, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Concat': 'partial', 'Upload-Length': '10', 'Upload-Metadata': metadata({ 'tessera-partition': `${session()}/0`, 'tessera-offset': '0', 'tessera-attempt': '0', 'tessera-integrity': 'md5' }) },
    })
    assert.equal(res.status, 400)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_HEADER')
  })

  test('a whole-file SHA-256 mismatch answers 460 and creates no final', HANG_GUARD, async () => {
    const s = session()
    const file = bytes(36_000, 17)
    const a0 = await createAttempt(gw.endpoint, `${s}/0`, 0, 0, file.subarray(0, 18_000), undefined, 'sha256')
    const a1 = await createAttempt(gw.endpoint, `${s}/1`, 18_000, 0, file.subarray(18_000), undefined, 'sha256')
    await patchOk(a0, 0, file.subarray(0, 18_000))
    await patchOk(a1, 0, file.subarray(18_000))
    const uploads = join(gw.dataDir, 'meta', 'uploads')
    const manifests = join(gw.dataDir, 'meta', 'manifests')
    const before = [await listFiles(uploads), await listFiles(manifests)]

    const res = await postFinal(gw.endpoint, [a0, a1], { 'tessera-sha256': sha256(bytes(36_000, 18)) })
    assert.equal(res.status, 460)
    assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_CHECKSUM_MISMATCH')
    assert.equal(res.headers.get('location'), null)
    assert.deepEqual([await listFiles(uploads), await listFiles(manifests)], before)
    const rejected = (await readEvents(gw.config.reconciliationLog)).filter((e) => e.event === 'final-rejected' && e.parts?.[0] === idOf(a0))
    assert.equal(rejected.length, 1)
    assert.equal(rejected[0]!.bytes, file.length)
    assert.equal(rejected[0]!.verifyRead, false)

    const malformed = await postFinal(gw.endpoint, [a0, a1], { 'tessera-sha256': 'not-a-digest' })
    assert.equal(malformed.status, 400)
    // The partials are untouched: the right digest still makes the final.
    const ok = await postFinal(gw.endpoint, [a0, a1], { 'tessera-sha256': sha256(file) })
    assert.equal(ok.status, 201)
    // The first final used up the session's running digest: this one read the file back.
    const [verified] = await eventsOf(gw, idOf(ok.headers.get('location')!))
    assert.equal(verified!.event, 'final-verified')
    assert.equal(verified!.verifyRead, true)
  })

  test('partitions that win out of order: the running digest hashes them in file order and the final needs no read', HANG_GUARD, async () => {
    const s = session()
    const file = bytes(90_000, 19)
    const cuts = [0, 10_000, 45_000, 90_000]
    const attempts = []
    for (let i = 0; i < 3; i++) attempts.push(await createAttempt(gw.endpoint, `${s}/${i}`, cuts[i]!, 0, file.subarray(cuts[i]!, cuts[i + 1]!), undefined, 'sha256'))
    for (const i of [2, 0, 1]) await patchOk(attempts[i]!, 0, file.subarray(cuts[i]!, cuts[i + 1]!))
    const ok = await postFinal(gw.endpoint, attempts, { 'tessera-sha256': sha256(file) })
    assert.equal(ok.status, 201, await ok.text())
    const [event] = await eventsOf(gw, idOf(ok.headers.get('location')!))
    assert.equal(event!.event, 'final-verified')
    assert.equal(event!.verifyRead, false)
    assert.ok((await download(ok.headers.get('location')!)).equals(file))
  })

  test('an attempt whose bytes do not match its tessera-sha256 cannot win: 460, freed, and the other attempt wins', HANG_GUARD, async () => {
    const data = bytes(30_000, 19)
    const partition = `${session()}/0`
    const bad = await createAttempt(gw.endpoint, partition, 0, 0, data)
    const good = await createAttempt(gw.endpoint, partition, 0, 1, data)
    const corrupt = Buffer.from(data)
    corrupt[12_345] = corrupt[12_345]! ^ 0xff
    await patchOk(bad, 0, corrupt.subarray(0, 16_384)) // committed progressively: the mismatch shows only at the end
    const last = await patch(bad, 16_384, corrupt.subarray(16_384))
    assert.equal(last.status, 460)
    assert.equal(last.headers.get('tessera-error-code'), 'TESSERA_ERR_CHECKSUM_MISMATCH')
    assert.deepEqual(await blocksOf(gw, idOf(bad)), [])
    const gone = await head(bad)
    assert.equal(gone.status, 410)
    assert.equal(gone.headers.get('tessera-error-code'), 'TESSERA_ERR_GONE')

    await patchOk(good, 0, data)
    assert.equal((await head(good)).status, 200)
    // A final naming the rejected attempt resolves to the one that verified.
    const final = await postFinal(gw.endpoint, [bad])
    assert.equal(final.status, 201)
    assert.ok((await download(final.headers.get('location')!)).equals(data))
    assert.deepEqual((await eventsOf(gw, idOf(bad))).map((e) => e.event), ['attempt-created', 'attempt-rejected'])
    assert.deepEqual((await eventsOf(gw, idOf(good))).map((e) => e.event), ['attempt-created', 'attempt-won'])
  })

  test('an in-flight PATCH of the loser is stopped when the other attempt wins, and answers 410', HANG_GUARD, async () => {
    const data = bytes(48_000, 23)
    const partition = `${session()}/0`
    const a = await createAttempt(gw.endpoint, partition, 0, 0, data)
    const b = await createAttempt(gw.endpoint, partition, 0, 1, data)
    const stalled = await stalledPatch(gw.port, path(b), 0, data.length, data.subarray(0, 20_000))
    await waitForStalledWrite(gw, stalled)

    await patchOk(a, 0, data)
    const { status, headers } = parseRawResponse(await stalled.response)
    stalled.socket.destroy()
    assert.equal(status, 410)
    assert.equal(headers.get('tessera-error-code'), 'TESSERA_ERR_SUPERSEDED')
    assert.equal(headers.get('tessera-winner'), path(a))
    assert.deepEqual(await blocksOf(gw, idOf(b)), [])
    await assertSuperseded(await head(b), a)
    const lost = (await eventsOf(gw, idOf(b))).find((e) => e.event === 'attempt-lost')!
    assert.equal(lost.bytes, 20_000) // what the hedge cost: the bytes it had stored when stopped
  })

  test('two attempts finishing together: exactly one wins, the other is freed', HANG_GUARD, async () => {
    for (let round = 0; round < 5; round++) {
      const data = bytes(20_000, 29 + round)
      const partition = `${session()}/${round}`
      const urls = [await createAttempt(gw.endpoint, partition, 0, 0, data), await createAttempt(gw.endpoint, partition, 0, 1, data)]
      const answers = await Promise.all(urls.map((u) => patch(u, 0, data)))
      const statuses = answers.map((r) => r.status).sort()
      assert.deepEqual(statuses, [204, 410], `round ${round}`)
      const winner = urls[answers.findIndex((r) => r.status === 204)]!
      const loser = urls[answers.findIndex((r) => r.status === 410)]!
      assert.equal(answers.find((r) => r.status === 410)!.headers.get('tessera-winner'), path(winner))
      assert.deepEqual(await blocksOf(gw, idOf(loser)), [])
      assert.ok((await blocksOf(gw, idOf(winner))).length > 0)
    }
  })

  test('an attempt created after its partition was won is superseded on its first request', HANG_GUARD, async () => {
    const data = bytes(5_000, 31)
    const partition = `${session()}/0`
    const a = await createAttempt(gw.endpoint, partition, 0, 0, data)
    await patchOk(a, 0, data)
    const late = await createAttempt(gw.endpoint, partition, 0, 1, data)
    await assertSuperseded(await patch(late, 0, data), a)
    assert.deepEqual(await blocksOf(gw, idOf(late)), [])
  })

  test('the running hash follows an attempt across PATCHes in memory, without re-reading its bytes', HANG_GUARD, async () => {
    const data = bytes(50_000, 37)
    const url = await createAttempt(gw.endpoint, `${session()}/0`, 0, 0, data)
    await patchOk(url, 0, data.subarray(0, 10_000))
    await patchOk(url, 10_000, data.subarray(10_000, 30_000))
    await patchOk(url, 30_000, data.subarray(30_000))
    assert.ok(!gw.log.lines.some((l) => l.msg === 'rebuilding an attempt hash from its stored bytes' && (l.obj as { uploadId?: string }).uploadId === idOf(url)))
    assert.deepEqual((await eventsOf(gw, idOf(url))).map((e) => e.event), ['attempt-created', 'attempt-won'])
  })

  test('an attempt without tessera-sha256 wins unverified when it finishes; creation-with-upload works too', HANG_GUARD, async () => {
    const data = bytes(9_000, 41)
    const partition = `${session()}/0`
    const res = await fetch(gw.endpoint, {
      method: 'POST',
      headers: {
        ...TUS,
        'Upload-Concat': 'partial',
        'Upload-Length': String(data.length),
        'Upload-Metadata': metadata({ 'tessera-partition': partition, 'tessera-offset': '0', 'tessera-attempt': '0' }),
        'Content-Type': 'application/offset+octet-stream',
      },
      body: data,
    })
    assert.equal(res.status, 201)
    assert.equal(res.headers.get('upload-offset'), String(data.length))
    const late = await createAttempt(gw.endpoint, partition, 0, 1, data, null)
    await assertSuperseded(await head(late), res.headers.get('location')!)
  })

  test('malformed Tessera metadata → 400 and nothing is created', HANG_GUARD, async () => {
    const base = { partition: `${session()}/0`, offset: 0, attempt: 0, length: 10, sha256: sha256(bytes(10)) }
    const bad = [
      { ...base, partition: 'no-index' },
      { ...base, partition: 'a/b/1' },
      { ...base, partition: 's/01' },
      { ...base, partition: '/3' },
      { ...base, sha256: 'AAAA' },
      { ...base, sha256: sha256(bytes(10)).replace('=', '') },
    ]
    const before = await listFiles(join(gw.dataDir, 'meta', 'uploads'))
    for (const spec of bad) {
      const res = await postAttempt(gw.endpoint, spec)
      assert.equal(res.status, 400, JSON.stringify(spec))
      assert.equal(res.headers.get('tessera-error-code'), 'TESSERA_ERR_INVALID_HEADER')
    }
    const raw = async (meta: Record<string, string | null>, concat = 'partial'): Promise<number> =>
      (await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Concat': concat, 'Upload-Length': '10', 'Upload-Metadata': metadata(meta) } })).status
    assert.equal(await raw({ 'tessera-partition': 's/0', 'tessera-offset': '0' }), 400) // no attempt
    assert.equal(await raw({ 'tessera-partition': 's/0', 'tessera-attempt': '0', 'tessera-offset': '-1' }), 400)
    assert.equal(await raw({ 'tessera-partition': 's/0', 'tessera-attempt': null, 'tessera-offset': '0' }), 400)
    assert.equal(await raw({ 'tessera-offset': '0', 'tessera-attempt': '0' }), 400) // no partition
    assert.equal((await fetch(gw.endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10', 'Upload-Metadata': metadata({ 'tessera-partition': 's/0', 'tessera-offset': '0', 'tessera-attempt': '0' }) } })).status, 400) // not a partial
    assert.deepEqual(await listFiles(join(gw.dataDir, 'meta', 'uploads')), before)
  })

  test('stock tus uploads are unaffected: no reconciliation state, no events', HANG_GUARD, async () => {
    const logBefore = (await readEvents(gw.config.reconciliationLog)).length
    const parts = [bytes(10_000, 43), bytes(7_000, 44)]
    const urls = [await upload(gw, parts[0]!, { 'Upload-Concat': 'partial' }), await upload(gw, parts[1]!, { 'Upload-Concat': 'partial' })]
    const plain = await upload(gw, bytes(3_000, 45), { 'Upload-Metadata': metadata({ filename: 'x', 'tessera-sha256': 'ignored on a plain upload' }) })
    assert.equal((await head(plain)).status, 200)
    const final = await postFinal(gw.endpoint, [urls[1]!, urls[0]!])
    assert.equal(final.status, 201)
    assert.ok((await download(final.headers.get('location')!)).equals(Buffer.concat([parts[1]!, parts[0]!])))
    assert.equal((await readEvents(gw.config.reconciliationLog)).length, logBefore)
  })
})
