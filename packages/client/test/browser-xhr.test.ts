// The browser's XMLHttpRequest transport (XhrTransport, the default where a page has XMLHttpRequest)
// in headless Chromium against a real gateway child process, through the in-test fault proxy where a
// link fault is needed: upload() binds it (no fetch; one PATCH per partition of a File, its Blob
// slice) and the download in Node is byte-identical; one big PATCH reports its body's progress as it
// goes out; a PATCH black-holed mid-body is aborted as CLIENT_ERR_STALLED after stallTimeoutMs of no
// progress — not after the whole body's allowance fetch needs — and the upload completes; a PATCH
// aborted mid-body rejects with the signal's reason.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { bytes, download, sha256, type Gateway } from './helpers.js'
import { type BundlePage, openBundlePage } from './helpers/bundle-page.js'
import { chromiumMissing } from './helpers/chromium.js'
import { faultProxy } from './helpers/fault-proxy.js'

const MiB = 1024 * 1024
/**
 * A body black-holed mid-way must be larger than what the kernel takes in once the proxy stops
 * reading — here the page's send buffer (≤ 4 MiB) and the proxy's receive buffer, which loopback
 * autotunes up to `net.ipv4.tcp_rmem`'s 32 MiB: a body held whole in buffers has left the page, and
 * gets the transport's drain allowance (as in Node) instead of `stallTimeoutMs`.
 */
const BLACK_HOLED_BODY = 64 * MiB

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tessera XMLHttpRequest transport test</title>
<script type="module">
  import * as tessera from '/tessera.js'
  import { makeFile } from '/page-file.js'
  // What the page's own XMLHttpRequest and fetch are asked to send (the transport's calls into the browser).
  const seen = { xhr: [], fetch: 0 }
  const open = XMLHttpRequest.prototype.open
  XMLHttpRequest.prototype.open = function (method, ...rest) {
    seen.xhr.push(method)
    return open.call(this, method, ...rest)
  }
  const pageFetch = window.fetch
  window.fetch = (...args) => {
    seen.fetch++
    return pageFetch(...args)
  }
  // upload() of makeFile(size, seed) with the default transport and \`options\`; its partitions, stalls and the browser calls.
  window.runUpload = async ({ endpoint, size, seed, options }) => {
    seen.xhr = []
    seen.fetch = 0
    const u = tessera.upload(makeFile(size, seed, 'x.bin'), { endpoints: [endpoint], stateStore: null, ...options })
    const partitions = []
    const stalls = []
    const started = new Map()
    u.on('partition', (e) => partitions.push(e.length))
    u.on('attempt-start', (e) => started.set(e.partition + '/' + e.attempt, performance.now()))
    u.on('stall', (e) => stalls.push({ code: 'CLIENT_ERR_STALLED', by: e.by, afterMs: performance.now() - started.get(e.partition + '/' + e.attempt) }))
    try {
      const r = await u.done
      return { url: r.url, partitions, stalls, xhr: seen.xhr, fetch: seen.fetch }
    } catch (err) {
      return { error: err.code + ': ' + err.message, partitions, stalls, xhr: seen.xhr, fetch: seen.fetch }
    }
  }
  // A plain tus upload of makeFile(size, seed) in one PATCH straight through an XhrTransport: the
  // body's progress calls (bytes, ms since the PATCH began) and how the PATCH ended.
  // abortAtBytes: the PATCH's signal aborts once that many bytes were reported (reason 'client-error': with a ClientError).
  window.onePatch = async ({ endpoint, size, seed, stallTimeoutMs, abortAtBytes, reason }) => {
    const transport = new tessera.XhrTransport()
    const tus = { 'tus-resumable': '1.0.0' }
    const created = await transport.request({ method: 'POST', url: endpoint, headers: { ...tus, 'upload-length': String(size) }, stallTimeoutMs })
    const url = new URL(created.headers.location, endpoint).href
    const controller = new AbortController()
    const progress = []
    const t = performance.now()
    const file = makeFile(size, seed, 'one.bin')
    const req = {
      method: 'PATCH',
      url,
      headers: { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(size) },
      blob: file,
      stallTimeoutMs,
      signal: controller.signal,
      onUploadProgress: (n) => {
        progress.push([n, performance.now() - t])
        if (abortAtBytes !== undefined && n >= abortAtBytes) controller.abort(reason === 'client-error' ? new tessera.ClientError('CLIENT_ERR_SOURCE', 'the test') : undefined)
      },
    }
    try {
      const res = await transport.request(req)
      return { url, progress, ms: performance.now() - t, status: res.status, offset: res.headers['upload-offset'] }
    } catch (err) {
      return { url, progress, ms: performance.now() - t, error: err.code, cause: err.cause?.message }
    }
  }
  window.ready = true
</script>`

/** `Upload-Offset` of a HEAD straight to the gateway. */
async function headOffset(url: string): Promise<number> {
  const res = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
  assert.equal(res.status, 200)
  return Number(res.headers.get('upload-offset'))
}

interface UploadResult {
  readonly url?: string
  readonly error?: string
  /** Lengths of the partitions cut. */
  readonly partitions: number[]
  readonly stalls: { code: string; by: string; afterMs: number }[]
  /** Methods of the XMLHttpRequests opened, in order. */
  readonly xhr: string[]
  /** fetch() calls. */
  readonly fetch: number
}

interface PatchResult {
  readonly url: string
  /** onUploadProgress calls: [bytes sent, ms since the PATCH began]. */
  readonly progress: [number, number][]
  readonly ms: number
  readonly status?: number
  readonly offset?: string
  readonly error?: string
  readonly cause?: string
}

describe('XhrTransport in headless Chromium', { skip: chromiumMissing, timeout: 180_000 }, () => {
  let opened: BundlePage | undefined
  let gw: Gateway
  let page: Page
  before(async () => {
    opened = await openBundlePage(PAGE)
    ;({ gw, page } = opened)
  })
  after(() => opened?.close())

  const runUpload = (args: { endpoint: string; size: number; seed: number; options?: Record<string, unknown> }): Promise<UploadResult> =>
    page.evaluate((a) => (globalThis as unknown as { runUpload: (a: unknown) => Promise<UploadResult> }).runUpload(a), args)
  const onePatch = (args: { endpoint: string; size: number; seed: number; stallTimeoutMs: number; abortAtBytes?: number; reason?: 'client-error' }): Promise<PatchResult> =>
    page.evaluate((a) => (globalThis as unknown as { onePatch: (a: unknown) => Promise<PatchResult> }).onePatch(a), args)

  test('upload() sends through XMLHttpRequest, one PATCH per partition of a File; the download is byte-identical', async () => {
    const size = 9 * MiB + 321
    const r = await runUpload({ endpoint: gw.url, size, seed: 71, options: { minPartitionBytes: 3 * MiB, initialPartitionBytes: 4 * MiB, maxPartitionBytes: 4 * MiB, hedging: false, splitting: false } })
    assert.equal(r.error, undefined)
    assert.equal(r.fetch, 0, 'nothing went through fetch')
    assert.ok(r.partitions.length >= 3 && r.partitions.some((n) => n > 2 * MiB), `partitions ${r.partitions.join()}`)
    assert.equal(r.xhr.filter((m) => m === 'PATCH').length, r.partitions.length, `one PATCH per partition, each larger than the 2 MiB chunkBytes: ${r.xhr.join()}`)
    assert.deepEqual(await download(r.url!), { sha256: sha256(bytes(size, 71)), size })
  })

  test('one 12 MiB PATCH on a 4 MiB/s link reports its body bytes as they go out, several times before the answer', async () => {
    const proxy = await faultProxy(gw.port, { bytesPerSecond: 4 * MiB })
    try {
      const size = 12 * MiB
      const r = await onePatch({ endpoint: proxy.url, size, seed: 72, stallTimeoutMs: 30_000 })
      assert.equal(r.error, undefined)
      assert.deepEqual([r.status, r.offset], [204, String(size)])
      const partial = r.progress.filter(([n]) => n < size)
      assert.ok(partial.length >= 3, `progress before the whole body: ${JSON.stringify(r.progress)}`)
      for (let i = 1; i < r.progress.length; i++) assert.ok(r.progress[i]![0] > r.progress[i - 1]![0], 'the count only grows')
      assert.equal(r.progress.at(-1)![0], size)
      assert.deepEqual(await download(r.url), { sha256: sha256(bytes(size, 72)), size })
    } finally {
      await proxy.close()
    }
  })

  test('a PATCH black-holed mid-body is CLIENT_ERR_STALLED once no byte moved for stallTimeoutMs', async () => {
    const proxy = await faultProxy(gw.port, { stallPatchAfterBytes: MiB })
    try {
      // fetch would allow this body stallTimeoutMs + 64 MiB at 32 KiB/s: 34 min.
      const r = await onePatch({ endpoint: proxy.url, size: BLACK_HOLED_BODY, seed: 73, stallTimeoutMs: 1000 })
      assert.ok(proxy.faulted())
      assert.equal(r.error, 'CLIENT_ERR_STALLED')
      const last = r.progress.at(-1)?.[1] ?? 0
      assert.ok(r.ms - last >= 1000, `no progress for ${r.ms - last} ms before the stall`)
      assert.ok(r.ms < 30_000, `caught after ${r.ms} ms`)
    } finally {
      await proxy.close()
    }
  })

  test('an upload whose PATCH is black-holed mid-body: a stall by timeout, then it resumes and completes byte-identical', async () => {
    const proxy = await faultProxy(gw.port, { stallPatchAfterBytes: 2 * MiB })
    try {
      const size = BLACK_HOLED_BODY
      const r = await runUpload({ endpoint: proxy.url, size, seed: 74, options: { minPartitionBytes: size, initialPartitionBytes: size, maxPartitionBytes: size, stallTimeoutMs: 1000, hedging: false, splitting: false } })
      assert.equal(r.error, undefined)
      assert.ok(proxy.faulted())
      assert.equal(r.stalls.length, 1, JSON.stringify(r.stalls))
      assert.deepEqual([r.stalls[0]!.code, r.stalls[0]!.by], ['CLIENT_ERR_STALLED', 'timeout'])
      assert.ok(r.stalls[0]!.afterMs < 30_000, `caught ${r.stalls[0]!.afterMs} ms after the attempt started`)
      assert.ok(r.xhr.includes('HEAD'), 'the attempt resumed from the offset the server acknowledged')
      assert.deepEqual(await download(r.url!), { sha256: sha256(bytes(size, 74)), size })
    } finally {
      await proxy.close()
    }
  })

  test("a PATCH whose signal aborts mid-body rejects with the signal's reason at once; the rest of the body never arrives", async () => {
    const proxy = await faultProxy(gw.port, { bytesPerSecond: 4 * MiB })
    try {
      const size = 16 * MiB
      const r = await onePatch({ endpoint: proxy.url, size, seed: 75, stallTimeoutMs: 30_000, abortAtBytes: 1, reason: 'client-error' })
      assert.equal(r.error, 'CLIENT_ERR_SOURCE', 'the reason, a ClientError, is what the request rejects with')
      const plain = await onePatch({ endpoint: proxy.url, size, seed: 75, stallTimeoutMs: 30_000, abortAtBytes: 1 })
      assert.equal(plain.error, 'CLIENT_ERR_ABORTED')
      // The body would take 4 s on this link: a second later the server's offset has not moved.
      const first = await headOffset(r.url)
      await new Promise((resolve) => setTimeout(resolve, 1000))
      assert.equal(await headOffset(r.url), first)
      assert.ok(first < size, `the server has ${first} of ${size} bytes`)
    } finally {
      await proxy.close()
    }
  })
})
