// tus-js-client 4.x, unmodified, against a gateway process with --auth jwt: its `headers` option
// carries the bearer token on every request — a Buffer, parallel partials + final, a resume on
// uploadUrl — and what it gets without a token, or resuming someone else's upload URL.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { JWT_FLAGS, hsToken } from '../packages/client/test/helpers/jwt.js'
import { dataBuffer } from './helpers/data.js'
import { type GatewayProcess, killGateway, removeDir, startGateway, tempDir } from './helpers/gateway-process.js'
import { download, tusRequest } from './helpers/http.js'
import { tusUpload, uploadAll, uploadFrom } from './helpers/tus-client.js'

const HANG_GUARD = { timeout: 60_000 }
const MiB = 1024 * 1024

let dir: string
let gateway: GatewayProcess
before(async () => {
  dir = await tempDir('tus-js-client-auth')
  gateway = await startGateway({ dataDir: join(dir, 'data'), args: [...JWT_FLAGS] })
})
after(async () => {
  await killGateway(gateway)
  await removeDir(dir)
})

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const bearer = (sub: string): Record<string, string> => ({ Authorization: `Bearer ${hsToken(sub)}` })

async function assertStored(url: string, bytes: Uint8Array, headers: Record<string, string>): Promise<void> {
  const got = await download(url, { headers })
  assert.equal(got.status, 200, got.text)
  assert.equal(got.sha256, sha256(bytes))
}

describe('tus-js-client with a token (headers option) against --auth jwt', () => {
  test('a Buffer, and parallelUploads 3 (partials and a final, all the token\'s owner\'s)', HANG_GUARD, async () => {
    const headers = bearer('alice')
    for (const parallelUploads of [1, 3]) {
      const bytes = dataBuffer(2 * MiB + 11, `auth-${parallelUploads}`)
      const url = await uploadAll(bytes, { endpoint: gateway.url, headers, parallelUploads })
      await assertStored(url, bytes, headers)
      assert.equal((await download(url, { headers: bearer('bob') })).status, 404)
    }
  })

  test('abort, then resume on uploadUrl with the token: from the server\'s offset', HANG_GUARD, async () => {
    const headers = bearer('alice')
    const bytes = dataBuffer(4 * MiB, 'auth-resume')
    let accepted = 0
    const first = tusUpload(bytes, {
      endpoint: gateway.url,
      headers,
      chunkSize: MiB,
      onChunkComplete: (_chunk, bytesAccepted) => {
        accepted = bytesAccepted
        if (bytesAccepted >= 2 * MiB) void first.upload.abort()
      },
    })
    first.done.catch(() => undefined)
    while (accepted < 2 * MiB) await new Promise((r) => setTimeout(r, 10))
    const uploadUrl = first.upload.url!
    const { url, resumedAt } = await uploadFrom(bytes, { endpoint: gateway.url, headers, uploadUrl, chunkSize: MiB })
    assert.equal(url, uploadUrl)
    assert.ok(resumedAt >= 2 * MiB, String(resumedAt))
    await assertStored(url, bytes, headers)
  })

  test('no token: tus-js-client fails with the 401', HANG_GUARD, async () => {
    await assert.rejects(uploadAll(dataBuffer(1000, 'none'), { endpoint: gateway.url }), /response code: 401/)
  })

  test('resuming another user\'s uploadUrl: 404 as for an unknown URL, so tus-js-client starts a new upload of its own', HANG_GUARD, async () => {
    const alice = bearer('alice')
    const created = await tusRequest('POST', gateway.url, { ...alice, 'Upload-Length': '1000' })
    const aliceUrl = new URL(created.headers.location!, gateway.url).href
    const bytes = dataBuffer(1000, 'taken-over')
    const { url } = await uploadFrom(bytes, { endpoint: gateway.url, headers: bearer('bob'), uploadUrl: aliceUrl })
    assert.notEqual(url, aliceUrl)
    await assertStored(url, bytes, bearer('bob'))
    // Alice's upload is untouched.
    const head = await tusRequest('HEAD', aliceUrl, alice)
    assert.equal(head.status, 200)
    assert.equal(head.headers['upload-offset'], '0')
  })
})
