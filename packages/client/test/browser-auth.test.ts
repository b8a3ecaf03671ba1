// The browser bundle (dist/browser/tessera.js), with each of its transports (fetch, XMLHttpRequest), in headless Chromium with a bearer
// token against a gateway child process with --auth jwt: `getToken` whose first token is refused at
// once (POST: retried in place) or expires mid-partition (a PATCH refused at 256 KiB resumes there
// after HEAD) — one refresh each, the download in Node byte-identical — and a static `headers` token.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { bytes, download, sha256, type Gateway } from './helpers.js'
import { type BundlePage, openBundlePage } from './helpers/bundle-page.js'
import { chromiumMissing } from './helpers/chromium.js'
import { JWT_FLAGS, REFUSED_AT_256_KIB, hsToken } from './helpers/jwt.js'

const MiB = 1024 * 1024

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tessera browser auth test</title>
<script type="module">
  import * as tessera from '/tessera.js'
  import { makeFile } from '/page-file.js'
  // Uploads makeFile(size, seed). tokens: what getToken() gives, call by call (the last one
  // repeats). holdSecondPatchUntil (ms since the epoch): the first PATCH past offset 0 waits until then.
  // kind: the transport, 'fetch' or 'xhr' — sendsBlobs is not passed on, so PATCHes stay ≤ chunkBytes with either.
  window.run = async ({ kind, endpoint, size, seed, tokens, headers, holdSecondPatchUntil }) => {
    const inner = kind === 'xhr' ? new tessera.XhrTransport() : new tessera.FetchTransport()
    const requests = []
    let held = false
    const transport = {
      streamsBodies: inner.streamsBodies,
      sendsTrailers: inner.sendsTrailers,
      close: () => inner.close(),
      async request(req) {
        if (holdSecondPatchUntil && req.method === 'PATCH' && req.headers['upload-offset'] !== '0' && !held) {
          held = true
          await new Promise((r) => setTimeout(r, holdSecondPatchUntil - Date.now()))
        }
        const entry = { method: req.method, offset: req.headers['upload-offset'] }
        requests.push(entry)
        const res = await inner.request(req)
        entry.status = res.status
        return res
      },
    }
    let calls = 0
    const u = tessera.upload(makeFile(size, seed, 'f.bin'), {
      endpoints: [endpoint],
      stateStore: null,
      transport,
      ...(headers && { headers }),
      ...(tokens && { getToken: async () => tokens[Math.min(calls++, tokens.length - 1)] }),
      minPartitionBytes: 1024 * 1024, maxPartitionBytes: 1024 * 1024, initialPartitionBytes: 1024 * 1024, chunkBytes: 256 * 1024,
      hedging: false, splitting: false,
    })
    const failed = []
    u.on('attempt-failed', (e) => failed.push(e.code))
    try {
      const r = await u.done
      return { url: r.url, calls, failed, requests }
    } catch (err) {
      return { error: err.code, calls, failed, requests }
    }
  }
  window.ready = true
</script>`

interface PageResult {
  readonly url?: string
  readonly error?: string
  readonly calls: number
  readonly failed: string[]
  readonly requests: { method: string; offset?: string; status?: number }[]
}

for (const kind of ['fetch', 'xhr'] as const) describe(`browser bundle (${kind}) with a token against --auth jwt`, { skip: chromiumMissing, timeout: 120_000 }, () => {
  let opened: BundlePage | undefined
  let gw: Gateway
  let page: Page
  before(async () => {
    opened = await openBundlePage(PAGE, [...JWT_FLAGS, '--jwt-clock-skew', '0s'])
    ;({ gw, page } = opened)
  })
  after(() => opened?.close())

  const run = (args: { size: number; seed: number; tokens?: string[]; headers?: Record<string, string>; holdSecondPatchUntil?: number }): Promise<PageResult> =>
    page.evaluate((a) => (globalThis as unknown as { run: (a: unknown) => Promise<PageResult> }).run(a), { kind, endpoint: gw.url, ...args })

  async function assertStored(url: string, size: number, seed: number, token: string): Promise<void> {
    assert.deepEqual(await download(url, { authorization: `Bearer ${token}` }), { sha256: sha256(bytes(size, seed)), size })
  }

  test('a first token refused at once: the POST is retried with the refreshed one', async () => {
    const fresh = hsToken('browser-user')
    const result = await run({ size: 2 * MiB + 5, seed: 61, tokens: [hsToken('browser-user', -60), fresh] })
    assert.equal(result.error, undefined)
    assert.equal(result.calls, 2)
    assert.deepEqual(result.failed, [])
    // The partitions' POSTs went out together with the first token: each was refused, and retried with the one refresh.
    const refused = result.requests.filter((r) => r.status === 401).map((r) => r.method)
    assert.ok(refused.length >= 1 && refused.every((m) => m === 'POST'), refused.join())
    await assertStored(result.url!, 2 * MiB + 5, 61, fresh)
  })

  test('a token that expires mid-partition: the refused PATCH resumes from the server\'s offset', async () => {
    const expiresMs = (Math.floor(Date.now() / 1000) + 2) * 1000
    const fresh = hsToken('browser-user')
    const result = await run({ size: MiB, seed: 62, tokens: [hsToken('browser-user', 2), fresh], holdSecondPatchUntil: expiresMs + 200 })
    assert.equal(result.error, undefined)
    assert.equal(result.calls, 2)
    assert.deepEqual(result.failed, ['CLIENT_ERR_TOKEN_REFRESHED'])
    assert.deepEqual(result.requests.filter((r) => r.method === 'PATCH' || r.method === 'HEAD').map((r) => [r.method, r.offset, r.status]), REFUSED_AT_256_KIB)
    await assertStored(result.url!, MiB, 62, fresh)
  })

  test('a static token in `headers`; without any, CLIENT_ERR_UNAUTHORIZED', async () => {
    const token = hsToken('browser-user')
    const result = await run({ size: 300_000, seed: 63, headers: { Authorization: `Bearer ${token}` } })
    assert.equal(result.error, undefined)
    await assertStored(result.url!, 300_000, 63, token)
    assert.equal((await run({ size: 1000, seed: 64 })).error, 'CLIENT_ERR_UNAUTHORIZED')
  })
})
