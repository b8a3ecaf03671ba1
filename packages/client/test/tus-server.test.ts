// Against stock @tus/server + @tus/file-store (no concatenation, no checksum): the client degrades
// to one sequential tus upload. Bytes are read from the FileStore directory (its GET is unreliable).
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { FileStore } from '@tus/file-store'
import { Server } from '@tus/server'
import { upload, ClientError, type Upload, type UploadOptions } from '../src/index.js'
import { bytes, sha256, tempDir } from './helpers.js'

const MiB = 1024 * 1024

describe('upload to stock @tus/server (sequential fallback)', () => {
  let server: http.Server
  let endpoint: string
  let tmp: Awaited<ReturnType<typeof tempDir>>
  let store: string
  before(async () => {
    tmp = await tempDir()
    store = join(tmp.dir, 'store')
    const tus = new Server({ path: '/files', datastore: new FileStore({ directory: store }) })
    server = http.createServer((req, res) => void tus.handle(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files`
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await tmp.remove()
  })

  const options = (extra: Partial<UploadOptions> = {}): UploadOptions => ({ endpoints: [endpoint], stateStore: null, metadata: { filename: 'f.bin' }, ...extra })

  async function check(u: Upload, data: Buffer): Promise<void> {
    const modes: string[] = []
    const checksums: string[][] = []
    u.on('capabilities', (e) => {
      modes.push(e.mode)
      checksums.push([...e.checksumAlgorithms])
    })
    const partitions: number[] = []
    u.on('partition', (e) => partitions.push(e.index))
    const result = await u.done
    assert.deepEqual(modes, ['sequential'])
    assert.deepEqual(partitions, [0])
    assert.equal(result.sha256, sha256(data))
    assert.equal(result.size, data.length)
    const stored = await readFile(join(store, new URL(result.url).pathname.split('/').pop()!))
    assert.equal(sha256(stored), sha256(data))
  }

  for (const size of [0, 1, 5 * MiB]) {
    test(`${size} B from a Buffer`, async () => {
      const data = bytes(size, size + 11)
      await check(upload(data, options({ chunkBytes: 2 * MiB })), data)
    })
  }

  test('64 MiB from a path', async () => {
    const data = bytes(64 * MiB, 12)
    const path = join(tmp.dir, 'big.bin')
    await writeFile(path, data)
    await check(upload(path, options()), data)
  })

  test('64 MiB from a Readable of unknown length (deferred length)', async () => {
    const data = bytes(64 * MiB, 13)
    const stream = Readable.from((function* () {
      for (let i = 0; i < data.length; i += 999_999) yield data.subarray(i, Math.min(data.length, i + 999_999))
    })())
    await check(upload(stream, options()), data)
  })

  test('a Readable shorter than its declared size: CLIENT_ERR_SOURCE_SHORT, and the upload stays unfinished', async () => {
    const data = bytes(3 * MiB, 14)
    const u = upload(Readable.from([data]), options({ size: 5 * MiB, chunkBytes: 1 * MiB }))
    let url: string | undefined
    u.on('attempt-start', (e) => (url = e.url))
    await assert.rejects(u.done, (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_SOURCE_SHORT')
    const head = await fetch(url!, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
    assert.equal(head.headers.get('upload-length'), String(5 * MiB))
    assert.equal(head.headers.get('upload-offset'), String(3 * MiB))
  })
})
