// Stock Uppy 6 in headless Chromium — its core and @uppy/tus from the `uppy` package's prebuilt
// bundle, unmodified — against a gateway process with --auth jwt: a generated file of a few MiB
// uploaded with a bearer token in @uppy/tus's `headers`, with parallelUploads 1 (one upload) and 4
// (tus-js-client's partials and a final concatenation, all the token's owner's), each stored upload
// read back by GET with the token and compared by SHA-256; without a token Uppy reports the 401.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { bytes, sha256 } from '../packages/client/test/helpers.js'
import { chromiumMissing, launchChromium, staticSite } from '../packages/client/test/helpers/chromium.js'
import { JWT_FLAGS, hsToken } from '../packages/client/test/helpers/jwt.js'
import { type GatewayProcess, killGateway, removeDir, startGateway, tempDir } from './helpers/gateway-process.js'
import { download, tusRequest } from './helpers/http.js'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const MiB = 1024 * 1024

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Uppy + @uppy/tus with a token</title>
<script type="module">
  import { Uppy, Tus } from '/uppy.min.mjs'
  import { makeFile } from '/page-file.js'
  // One Uppy per run: a file of size bytes made from seed, sent by @uppy/tus with headers.
  window.run = async ({ endpoint, headers, parallelUploads, size, seed }) => {
    const uppy = new Uppy({ id: 'uppy-auth-' + seed })
    uppy.use(Tus, { endpoint, headers, parallelUploads, retryDelays: [], chunkSize: 1024 * 1024 })
    uppy.addFile({ name: 'f' + seed + '.bin', type: 'application/octet-stream', data: makeFile(size, seed, 'f' + seed + '.bin') })
    const result = await uppy.upload()
    const summary = {
      successful: result.successful.map((f) => f.response.uploadURL),
      failed: result.failed.map((f) => String(f.error)),
    }
    uppy.destroy()
    return summary
  }
  window.ready = true
</script>`

describe('Uppy (@uppy/tus) in headless Chromium against --auth jwt', { skip: chromiumMissing, timeout: 240_000 }, () => {
  let dir: string
  let gateway: GatewayProcess
  let site: { url: string; close: () => Promise<void> }
  let browser: Browser
  let page: Page
  before(async () => {
    dir = await tempDir('uppy-auth')
    gateway = await startGateway({ dataDir: join(dir, 'data'), args: [...JWT_FLAGS] })
    const js = (body: string | Buffer) => ({ type: 'text/javascript', body })
    site = await staticSite({
      '/': { type: 'text/html; charset=utf-8', body: PAGE },
      '/uppy.min.mjs': js(await readFile(join(dirname(require.resolve('uppy/package.json')), 'dist/uppy.min.mjs'))),
      '/page-file.js': js(await readFile(join(here, '../packages/client/test/fixtures/page-file.js'))),
    })
    browser = await launchChromium()
    page = await browser.newPage()
    page.on('pageerror', (err) => console.log(`page error: ${err.message}`))
    await page.goto(site.url)
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true)
  })
  after(async () => {
    await browser?.close()
    await site?.close()
    if (gateway) await killGateway(gateway)
    await removeDir(dir)
  })

  /** Runs one Uppy upload in the page. */
  function run(args: { headers: Record<string, string>; parallelUploads: number; size: number; seed: number }): Promise<{ successful: string[]; failed: string[] }> {
    return page.evaluate((a) => (globalThis as unknown as { run: (a: unknown) => Promise<{ successful: string[]; failed: string[] }> }).run(a), { endpoint: gateway.url, ...args })
  }

  for (const parallelUploads of [1, 4]) {
    test(`parallelUploads ${parallelUploads}: a 5 MiB file with Authorization: Bearer, stored byte-identical and the owner's alone`, async () => {
      const token = hsToken(`uppy-user-${parallelUploads}`)
      const size = 5 * MiB + 123
      const seed = 40 + parallelUploads
      const result = await run({ headers: { Authorization: `Bearer ${token}` }, parallelUploads, size, seed })
      assert.deepEqual(result.failed, [])
      assert.equal(result.successful.length, 1)
      const url = result.successful[0]!
      const got = await download(url, { headers: { Authorization: `Bearer ${token}` } })
      assert.equal(got.status, 200, got.text)
      assert.equal(got.bytes, size)
      assert.equal(got.sha256, sha256(bytes(size, seed)))
      // With 4, tus-js-client sent 4 partials and a final concatenation of them.
      const head = await tusRequest('HEAD', url, { Authorization: `Bearer ${token}` })
      assert.equal(head.status, 200)
      if (parallelUploads > 1) assert.equal(String(head.headers['upload-concat']).split(' ').length, parallelUploads)
      else assert.equal(head.headers['upload-concat'], undefined)
      // The URL reveals nothing to another user.
      assert.equal((await download(url, { headers: { Authorization: `Bearer ${hsToken('someone-else')}` } })).status, 404)
    })
  }

  test('without a token Uppy reports the failure (the 401 reaches the page through CORS)', async () => {
    const result = await run({ headers: {}, parallelUploads: 1, size: 1000, seed: 50 })
    assert.deepEqual(result.successful, [])
    assert.equal(result.failed.length, 1)
    assert.match(result.failed[0]!, /401/)
  })
})
