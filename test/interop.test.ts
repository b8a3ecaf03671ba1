// The tus-js-client helper is protocol-generic: the same upload + resume runs unchanged against the
// reference server (stock @tus/server + @tus/file-store, in-process) and against the gateway process.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { FileStore } from '@tus/file-store'
import { Server } from '@tus/server'
import { dataBuffer, sha256File } from './helpers/data.js'
import { type GatewayProcess, killGateway, removeDir, startGateway, tempDir } from './helpers/gateway-process.js'
import { download, headOffset } from './helpers/http.js'
import { tusUpload, uploadAll, uploadFrom } from './helpers/tus-client.js'

/** Per-test hang guard (a stuck socket must fail the run, not stall it); never a performance bound. */
const HANG_GUARD = { timeout: 30_000 }

const KiB = 1024
const MiB = 1024 * KiB

interface Target {
  readonly name: string
  endpoint: string
  /** SHA-256 of the stored upload, read the way that target serves it. */
  stored: (url: string) => Promise<string>
}

let dir: string
let gateway: GatewayProcess | undefined
let reference: http.Server | undefined

const targets: Target[] = [
  {
    name: 'stock @tus/server + @tus/file-store',
    endpoint: '',
    // Read from the FileStore's directory: @tus/server's own GET handler is not what is under test
    // (and is unreliable on Node 20, see DESIGN.md).
    stored: (url) => sha256File(join(dir, 'reference', new URL(url).pathname.split('/').pop()!)),
  },
  {
    name: 'Tessera gateway',
    endpoint: '',
    stored: async (url) => {
      const got = await download(url)
      assert.equal(got.status, 200, got.text)
      assert.equal(got.complete, true)
      return got.sha256
    },
  },
]

before(async () => {
  dir = await tempDir('interop')
  const tus = new Server({ path: '/files', datastore: new FileStore({ directory: join(dir, 'reference') }) })
  reference = http.createServer((req, res) => void tus.handle(req, res))
  await new Promise<void>((resolve) => reference!.listen(0, '127.0.0.1', resolve))
  targets[0]!.endpoint = `http://127.0.0.1:${(reference.address() as AddressInfo).port}/files`
  gateway = await startGateway({ dataDir: join(dir, 'gateway') })
  targets[1]!.endpoint = gateway.url
})

after(async () => {
  reference?.closeAllConnections()
  await new Promise<void>((resolve) => (reference ? reference.close(() => resolve()) : resolve()))
  await killGateway(gateway)
  await removeDir(dir)
})

for (const target of targets) {
  describe(`tus-js-client helper against ${target.name}`, () => {
    test('1 MiB upload', HANG_GUARD, async () => {
      const bytes = dataBuffer(MiB, 'interop-upload')
      const url = await uploadAll(bytes, { endpoint: target.endpoint, chunkSize: 256 * KiB })
      assert.equal((await headOffset(url)).offset, MiB)
      assert.equal(await target.stored(url), createHash('sha256').update(bytes).digest('hex'))
    })

    test('abort after 512 KiB, resume on the upload URL from the server offset', HANG_GUARD, async () => {
      const bytes = dataBuffer(MiB + 3, 'interop-resume')
      let accepted = 0
      const first = tusUpload(bytes, {
        endpoint: target.endpoint,
        chunkSize: 256 * KiB,
        onChunkComplete: (_chunk, bytesAccepted) => {
          accepted = bytesAccepted
          if (bytesAccepted >= 512 * KiB) void first.upload.abort()
        },
      })
      first.done.catch(() => undefined)
      for (const deadline = Date.now() + 30_000; accepted < 512 * KiB; ) {
        if (Date.now() > deadline) throw new Error('no chunk acknowledged (hang guard)')
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      const uploadUrl = first.upload.url!
      assert.equal((await headOffset(uploadUrl)).offset, accepted)

      const { url, resumedAt } = await uploadFrom(bytes, { endpoint: target.endpoint, uploadUrl, chunkSize: 256 * KiB })
      assert.equal(url, uploadUrl)
      assert.equal(resumedAt, accepted)
      assert.equal(await target.stored(url), createHash('sha256').update(bytes).digest('hex'))
    })
  })
}
