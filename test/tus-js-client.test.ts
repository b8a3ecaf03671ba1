// tus-js-client 4.x, unmodified, as a real client of the gateway process: every size class, streams,
// concatenation, deferred length, abort and resume; every download compared by SHA-256.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import * as tus from 'tus-js-client'
import { startFaultProxy } from '@tessera/fault-proxy'
import { dataBuffer, writeDataFile } from './helpers/data.js'
import { type GatewayProcess, killGateway, removeDir, startGateway, tempDir } from './helpers/gateway-process.js'
import { createUpload, download, headOffset } from './helpers/http.js'
import { rawPatch } from './helpers/raw-patch.js'
import { resumeFromStorage, tusUpload, uploadAll, uploadFrom } from './helpers/tus-client.js'

/** Per-test hang guard (a stuck socket must fail the run, not stall it); never a performance bound. */
const HANG_GUARD = { timeout: 120_000 }

const KiB = 1024
const MiB = 1024 * KiB

let dir: string
let gateway: GatewayProcess

before(async () => {
  dir = await tempDir('tus-js-client')
  gateway = await startGateway({ dataDir: join(dir, 'data') })
})

after(async () => {
  await killGateway(gateway)
  await removeDir(dir)
})

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** Asserts that GET of `url` streams exactly the bytes with digest `expected`. */
async function assertDownload(url: string, expected: string, length: number): Promise<void> {
  const got = await download(url)
  assert.equal(got.status, 200, got.text)
  assert.equal(got.complete, true)
  assert.equal(got.bytes, length)
  assert.equal(got.sha256, expected)
}

describe('tus-js-client against the gateway', () => {
  for (const size of [0, 1, MiB]) {
    test(`a ${size}-byte Buffer`, HANG_GUARD, async () => {
      const bytes = dataBuffer(size, `buffer-${size}`)
      const url = await uploadAll(bytes, { endpoint: gateway.url, metadata: { filename: `b${size}.bin` } })
      const head = await headOffset(url)
      assert.equal(head.status, 200)
      assert.equal(head.offset, size)
      assert.equal(head.headers['upload-length'], String(size))
      await assertDownload(url, sha256(bytes), size)
    })
  }

  test('256 MiB streamed from disk by fs.createReadStream (size from the path, one streamed PATCH)', HANG_GUARD, async () => {
    const size = 256 * MiB
    const file = join(dir, 'big.bin')
    const expected = await writeDataFile(file, size, 'big')
    // An fs.ReadStream with a path becomes tus-js-client's FileSource: the size comes from stat(),
    // so no `uploadSize`; chunkSize stays Infinity, so the whole file goes in one streamed PATCH.
    const url = await uploadAll(createReadStream(file), { endpoint: gateway.url })
    assert.equal((await headOffset(url)).offset, size)
    await assertDownload(url, expected, size)
  })

  test('a generic Readable with a known size needs `uploadSize`', HANG_GUARD, async () => {
    const size = MiB + 7
    const file = join(dir, 'known.bin')
    const expected = await writeDataFile(file, size, 'known')
    // A Readable that is not an fs.ReadStream has no size tus-js-client can find: without
    // `uploadSize` (or deferred length) it refuses to start.
    await assert.rejects(uploadAll(createReadStream(file).pipe(new PassThrough()), { endpoint: gateway.url, chunkSize: 256 * KiB }), /uploadSize/)
    const url = await uploadAll(createReadStream(file).pipe(new PassThrough()), { endpoint: gateway.url, uploadSize: size, chunkSize: 256 * KiB })
    await assertDownload(url, expected, size)
  })

  test('parallelUploads: 4 from a file: partials and a final concatenation', HANG_GUARD, async () => {
    const size = 3 * MiB + 17
    const file = join(dir, 'parallel.bin')
    const expected = await writeDataFile(file, size, 'parallel')
    const url = await uploadAll(createReadStream(file), { endpoint: gateway.url, parallelUploads: 4 })
    const head = await headOffset(url)
    assert.equal(head.status, 200)
    const concat = String(head.headers['upload-concat'])
    assert.match(concat, /^final;/)
    assert.equal(concat.slice('final;'.length).trim().split(' ').length, 4)
    assert.equal(head.offset, size)
    assert.equal(head.headers['upload-length'], String(size))
    await assertDownload(url, expected, size)
  })

  test('parallelUploads: 4 from a Buffer with a chunkSize', HANG_GUARD, async () => {
    const bytes = dataBuffer(2 * MiB + 3, 'parallel-buffer')
    const url = await uploadAll(bytes, { endpoint: gateway.url, parallelUploads: 4, chunkSize: 200 * KiB })
    assert.match(String((await headOffset(url)).headers['upload-concat']), /^final;/)
    await assertDownload(url, sha256(bytes), bytes.length)
  })

  test('deferred length from a stream (Upload-Defer-Length, length sent with the last PATCH)', HANG_GUARD, async () => {
    const size = 5 * MiB + 123
    const file = join(dir, 'deferred.bin')
    const expected = await writeDataFile(file, size, 'deferred')
    // tus-js-client 4.3.1 hangs on deferred length with an fs.ReadStream (FileSource.slice declares
    // Content-Length = chunkSize for the short last chunk, so that PATCH body never ends) and, for
    // other streams, when the length is an exact multiple of chunkSize (StreamSource waits for a
    // 'readable' that never comes after EOF): so a PassThrough, and a length that is not a multiple.
    const source = createReadStream(file).pipe(new PassThrough())
    let created = false
    const url = await uploadAll(source, {
      endpoint: gateway.url,
      uploadLengthDeferred: true,
      chunkSize: MiB,
      onBeforeRequest: (req) => {
        if (req.getMethod() === 'POST') created = req.getHeader('Upload-Defer-Length') === '1'
      },
    })
    assert.equal(created, true)
    const head = await headOffset(url)
    assert.equal(head.headers['upload-length'], String(size))
    assert.equal(head.headers['upload-defer-length'], undefined)
    await assertDownload(url, expected, size)
  })

  test('abort mid-PATCH, then resume with a new Upload on the previous uploadUrl', HANG_GUARD, async () => {
    const size = 24 * MiB + 5
    const file = join(dir, 'abort.bin')
    const expected = await writeDataFile(file, size, 'abort')
    let aborted = false
    // The first upload goes through a 128 Mbit/s link: unthrottled on loopback, tus-js-client's
    // progress (the socket's bytes written, polled) could first pass 8 MiB after the kernel had
    // taken all 24 MiB, and the abort came after the last byte (CI saw offset == size).
    const link = await startFaultProxy({ endpoints: [{ name: 'link', upstream: new URL(gateway.url).origin, bandwidth: [{ bitsPerSecond: 128e6, durationMs: 60_000 }], bandwidthDirection: 'upload' }] })
    const first = tusUpload(createReadStream(file), {
      endpoint: `${link.endpoint('link').url}${new URL(gateway.url).pathname}`,
      onProgress: (sent) => {
        if (!aborted && sent >= 8 * MiB) {
          aborted = true
          void first.upload.abort()
        }
      },
    })
    // abort() settles neither onSuccess nor onError; wait for the abort instead.
    first.done.catch(() => undefined)
    await waitFor(() => aborted && first.upload.url !== null)
    // Resumed directly on the gateway: the partial's URL is the proxy's.
    const uploadUrl = new URL(new URL(first.upload.url!).pathname, gateway.url).href
    const head = await headOffset(uploadUrl)
    await link.close()
    assert.equal(head.status, 200)
    assert.ok(head.offset < size, `offset ${head.offset} after an abort at 8 MiB of ${size}`)

    const { url, resumedAt } = await uploadFrom(createReadStream(file), { endpoint: gateway.url, uploadUrl, chunkSize: 4 * MiB })
    assert.equal(url, uploadUrl)
    assert.ok(resumedAt >= head.offset, `resumed from ${resumedAt}, the server had ${head.offset}`)
    await assertDownload(url, expected, size)
  })

  test('abort between chunks, then findPreviousUploads + resumeFromPreviousUpload', HANG_GUARD, async () => {
    const size = 6 * MiB + 1
    const file = join(dir, 'previous.bin')
    const expected = await writeDataFile(file, size, 'previous')
    const urlStorage = new (tus as unknown as { FileUrlStorage: new (path: string) => object }).FileUrlStorage(join(dir, 'urls.json'))
    const options = { endpoint: gateway.url, chunkSize: MiB, urlStorage: urlStorage as tus.UploadOptions['urlStorage'], storeFingerprintForResuming: true }
    let accepted = 0
    const first = tusUpload(createReadStream(file), {
      ...options,
      onChunkComplete: (_chunk, bytesAccepted) => {
        accepted = bytesAccepted
        if (bytesAccepted >= 3 * MiB) void first.upload.abort()
      },
    })
    first.done.catch(() => undefined)
    await waitFor(() => accepted >= 3 * MiB)
    assert.equal((await headOffset(first.upload.url!)).offset, accepted)

    const resumed = await resumeFromStorage(createReadStream(file), options)
    assert.equal(resumed.previous, 1)
    assert.equal(resumed.url, first.upload.url)
    assert.equal(resumed.resumedAt, accepted)
    await assertDownload(resumed.url, expected, size)
  })

  test('a stalled PATCH (client silent mid-body) does not block tus-js-client resuming on its URL', HANG_GUARD, async () => {
    const bytes = dataBuffer(12 * MiB + 11, 'stalled')
    const url = await createUpload(gateway.url, bytes.length)
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    const sentBeforeStall = 9 * MiB + 4000
    const stalled = rawPatch(url, 0, bytes.length, (async function* () {
      yield bytes.subarray(0, sentBeforeStall)
      await released
    })())
    try {
      // Block files of this upload on disk: the gateway is storing the stalled PATCH, so it holds the lock.
      const id = new URL(url).pathname.split('/').pop()!
      await waitFor(async () => (await readdir(join(dir, 'data', 'backends'), { recursive: true })).some((p) => p.startsWith(`b0/${id}/`) && p.endsWith('~blk')))
      // The resuming client's HEAD asks the stalled request to release its lock: that one commits
      // what it received and is answered; the HEAD then reports it.
      const { url: done, resumedAt } = await uploadFrom(bytes, { endpoint: gateway.url, uploadUrl: url, chunkSize: MiB })
      assert.equal(done, url)
      const answer = await stalled.outcome
      assert.equal(answer.kind, 'response')
      assert.equal(answer.status, 204)
      assert.equal(resumedAt, answer.offset)
      assert.ok(answer.offset <= sentBeforeStall)
      await assertDownload(url, sha256(bytes), bytes.length)
    } finally {
      release()
    }
  })
})

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time (hang guard)')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
