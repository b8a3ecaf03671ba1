// @tessera/uppy in headless Chromium with Uppy's own core (the `uppy` package's prebuilt bundle)
// against a real gateway child process: three files in one batch (their partitions digested in the
// client's workers), pause and resume, a page reload resumed through Golden Retriever, and an
// endpoint that stalls every PATCH rescued by a hedge. Every upload is downloaded in Node and
// compared byte for byte.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startFaultProxy, type FaultProxy } from '@tessera/fault-proxy'
import { SignJWT } from 'jose'
import type { Browser, Page } from 'playwright-core'
import { bytes, download, sha256, startGateway, type Gateway } from '../../client/test/helpers.js'
import { chromiumMissing, launchChromium, staticSite } from '../../client/test/helpers/chromium.js'
import { UPPY_IMPORT_MAP, uppySite } from './helpers/uppy-site.js'

const MiB = 1024 * 1024

// Small partitions, so a file of a few MiB has several and a pause or reload lands mid-file.
/** Request heads of an upload of a few MiB in small partitions (OPTIONS, POSTs, HEADs, PATCHes, the final), bytes: an upper bound. */
const HEADERS_ALLOWANCE = 128 * 1024
const SMALL = { minPartitionBytes: 256 * 1024, initialPartitionBytes: 512 * 1024, maxPartitionBytes: MiB, chunkBytes: 256 * 1024, maxConcurrency: 2, initialConcurrency: 2 }
/**
 * {@link SMALL} without hedges, for the tests that count the bytes sent: a hedge on the throttled
 * link re-sends a partition not yet acknowledged — legitimately, but not what they measure.
 */
const NO_HEDGES = { ...SMALL, hedging: false }

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>@tessera/uppy test</title>
${UPPY_IMPORT_MAP}
<script type="module">
  import { Uppy, GoldenRetriever } from '/uppy.min.mjs'
  import Tessera from '/plugin/index.js'
  import { makeFile } from '/page-file.js'
  window.makeFile = makeFile
  // Workers the page starts: the client's digest workers, reached through the plugin's import of its bundle.
  window.workersStarted = 0
  const PageWorker = window.Worker
  window.Worker = class extends PageWorker {
    constructor(...args) {
      window.workersStarted++
      super(...args)
    }
  }
  // One Uppy with the Tessera uploader; every event of interest is recorded in window.events.
  // token: what the plugin's getToken() hands the client (counted in window.tokenCalls).
  window.newUppy = ({ endpoints, options, goldenRetriever, token }) => {
    const uppy = new Uppy({ id: 'tessera-test' })
    if (goldenRetriever) uppy.use(GoldenRetriever, { serviceWorker: false })
    window.tokenCalls = 0
    uppy.use(Tessera, { endpoints, ...options, ...(token !== undefined && { getToken: () => (window.tokenCalls++, token) }) })
    window.uppy = uppy
    window.events = []
    const record = (name, fn) => uppy.on(name, (...args) => window.events.push({ name, at: performance.now(), ...fn(...args) }))
    record('upload-start', (files) => ({ files: files.map((f) => f.name) }))
    record('upload-progress', (file, p) => ({ file: file.name, bytesUploaded: p.bytesUploaded, bytesTotal: p.bytesTotal }))
    record('upload-success', (file, r) => ({ file: file.name, url: r.uploadURL }))
    record('upload-error', (file, err) => ({ file: file?.name, error: String(err?.message) }))
    record('restored', () => ({}))
    return true
  }
  window.addFiles = (files) => {
    for (const f of files) window.uppy.addFile({ name: f.name, type: 'application/octet-stream', data: makeFile(f.size, f.seed, f.name), meta: { note: f.note ?? '' } })
  }
  // Resolves once the gateway has acknowledged at least \`bytes\` of a file.
  window.acked = (bytes) => new Promise((resolve) => window.uppy.on('upload-progress', (_file, p) => p.bytesUploaded >= bytes && resolve()))
  window.summary = (result) => ({
    successful: result.successful.map((f) => ({ name: f.name, url: f.response.uploadURL, size: f.size })),
    failed: result.failed.map((f) => ({ name: f.name, error: String(f.error) })),
    events: window.events,
    workersStarted: window.workersStarted,
  })
  window.ready = true
</script>`

/** What the page offers its tests (PAGE's script); `uppy` is Uppy itself. */
interface UppyPage {
  newUppy(o: { endpoints: string[]; options?: object; goldenRetriever?: boolean; token?: string }): void
  addFiles(files: Array<{ name: string; size: number; seed: number; note?: string }>): void
  acked(bytes: number): Promise<void>
  summary(result: unknown): Summary
  uppy: any
  events: Summary['events']
  tokenCalls: number
}

/** What the page hands back after an Uppy upload. */
interface Summary {
  readonly successful: Array<{ name: string; url: string; size: number }>
  readonly failed: Array<{ name: string; error: string }>
  readonly events: Array<{ name: string; at: number; file?: string; bytesUploaded?: number; bytesTotal?: number; url?: string; error?: string }>
  /** Workers the page has started so far. */
  readonly workersStarted: number
}

describe('@tessera/uppy in headless Chromium with Uppy core', { skip: chromiumMissing, timeout: 240_000 }, () => {
  let gw: Gateway
  let site: { url: string; close: () => Promise<void> }
  let browser: Browser
  const proxies: FaultProxy[] = []
  before(async () => {
    gw = await startGateway()
    site = await staticSite(await uppySite(PAGE))
    browser = await launchChromium()
  })
  after(async () => {
    await browser?.close()
    await site?.close()
    for (const p of proxies) await p.close()
    await gw?.stop()
  })

  /** The gateway through a fault proxy with `faults`; its creation URL. */
  async function viaProxy(faults: Record<string, unknown>): Promise<{ url: string; proxy: FaultProxy }> {
    const proxy = await startFaultProxy({ seed: 7, endpoints: [{ name: 'gw', upstream: new URL(gw.url).origin, ...faults }] })
    proxies.push(proxy)
    return { url: `${proxy.endpoint('gw').url}/files`, proxy }
  }

  async function openPage(): Promise<Page> {
    const page = await browser.newPage()
    page.on('pageerror', (err) => console.log(`page error: ${err.message}`))
    await page.goto(site.url)
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true)
    return page
  }

  async function assertStored(url: string, size: number, seed: number): Promise<void> {
    assert.deepEqual(await download(url), { sha256: sha256(bytes(size, seed)), size })
  }

  test('three files in one batch: each stored byte-identical, with its Uppy meta, progress reported to the end; their partitions digested in workers', async () => {
    const files = [
      { name: 'a.bin', size: 3 * MiB + 17, seed: 31, note: 'first' },
      { name: 'b.bin', size: 1, seed: 32 },
      { name: 'c.bin', size: 5 * MiB, seed: 33 },
    ]
    const page = await openPage()
    try {
      const r: Summary = await page.evaluate(async ({ endpoint, options, files }) => {
        const w = window as unknown as UppyPage
        w.newUppy({ endpoints: [endpoint], options })
        w.addFiles(files)
        return w.summary(await w.uppy.upload())
      }, { endpoint: gw.url, options: SMALL, files })
      assert.deepEqual(r.failed, [])
      assert.deepEqual(r.successful.map((f) => f.name).sort(), ['a.bin', 'b.bin', 'c.bin'])
      assert.ok(r.workersStarted >= 1 && r.workersStarted <= 4, `${r.workersStarted} digest workers for three files`)
      assert.deepEqual(r.events.filter((e) => e.name === 'upload-start').flatMap((e) => (e as unknown as { files: string[] }).files).sort(), ['a.bin', 'b.bin', 'c.bin'])
      for (const f of files) {
        const done = r.successful.find((s) => s.name === f.name)!
        await assertStored(done.url, f.size, f.seed)
        const progress = r.events.filter((e) => e.name === 'upload-progress' && e.file === f.name)
        assert.equal(progress.at(-1)?.bytesUploaded, f.size, `${f.name}: the last progress event reports every byte`)
        assert.ok(progress.every((e, i) => i === 0 || e.bytesUploaded! >= progress[i - 1]!.bytesUploaded!), `${f.name}: progress never goes back`)
      }
      const head = await fetch(r.successful.find((s) => s.name === 'a.bin')!.url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
      const metadata = Object.fromEntries((head.headers.get('upload-metadata') ?? '').split(',').map((kv) => kv.split(' ')).map(([k, v]) => [k, Buffer.from(v ?? '', 'base64').toString()]))
      assert.equal(metadata['filename'], 'a.bin')
      assert.equal(metadata['note'], 'first')
    } finally {
      await page.close()
    }
  })

  test('pause stops the progress, resume finishes the file without sending acknowledged bytes again', async () => {
    const { url, proxy } = await viaProxy({ bandwidth: [{ bitsPerSecond: 16e6, durationMs: 1 }] }) // 2 MB/s
    const size = 6 * MiB
    const page = await openPage()
    try {
      const r = await page.evaluate(async ({ endpoint, options, size }) => {
        const w = window as unknown as UppyPage
        w.newUppy({ endpoints: [endpoint], options })
        w.addFiles([{ name: 'paused.bin', size, seed: 41 }])
        const id = w.uppy.getFiles()[0].id
        const result = w.uppy.upload()
        // Pause once a first partition is acknowledged, hold for 1.5 s, resume.
        await w.acked(1)
        w.uppy.pauseResume(id)
        const pausedAt = performance.now()
        const ackedAtPause = w.uppy.getFile(id).progress.bytesUploaded
        await new Promise((resolve) => setTimeout(resolve, 1500))
        const ackedAtResume = w.uppy.getFile(id).progress.bytesUploaded
        const resumedAt = performance.now()
        w.uppy.pauseResume(id)
        return { summary: w.summary(await result), pausedAt, resumedAt, ackedAtPause, ackedAtResume }
      }, { endpoint: url, options: NO_HEDGES, size })
      assert.deepEqual(r.summary.failed, [])
      assert.ok(r.ackedAtPause > 0 && r.ackedAtPause < size, `paused at ${r.ackedAtPause} of ${size}`)
      // A PATCH in flight at the pause is aborted; its acknowledgement, if it raced the pause, comes within a few ms.
      const during = r.summary.events.filter((e) => e.name === 'upload-progress' && e.at > r.pausedAt + 250 && e.at < r.resumedAt)
      assert.deepEqual(during, [], 'no progress while paused')
      assert.ok(r.ackedAtResume < size, 'the file was not finished while paused')
      // Every byte went up once, but for the PATCHes the pause cut (one per partition in flight).
      const sent = proxy.endpoint('gw').stats().bytesUp
      assert.ok(sent <= size + SMALL.maxConcurrency * SMALL.chunkBytes + HEADERS_ALLOWANCE, `${sent} bytes went up for a ${size}-byte file`)
      await assertStored(r.summary.successful[0]!.url, size, 41)
    } finally {
      await page.close()
    }
  })

  test('a page reload mid-upload: Golden Retriever restores the file and the upload resumes where it was', async () => {
    const { url, proxy } = await viaProxy({ bandwidth: [{ bitsPerSecond: 16e6, durationMs: 1 }] })
    const size = 6 * MiB
    const page = await openPage()
    try {
      const before = await page.evaluate(async ({ endpoint, options, size }) => {
        const w = window as unknown as UppyPage
        w.newUppy({ endpoints: [endpoint], options, goldenRetriever: true })
        w.addFiles([{ name: 'reloaded.bin', size, seed: 51 }])
        void w.uppy.upload()
        await w.acked(1024 * 1024)
        await new Promise((resolve) => setTimeout(resolve, 1000)) // Golden Retriever saves its state throttled
        return w.uppy.getFiles()[0].progress.bytesUploaded as number
      }, { endpoint: url, options: NO_HEDGES, size })
      assert.ok(before > 0 && before < size, `reloaded at ${before} of ${size}`)

      await page.reload()
      await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true)
      const sentBefore = proxy.endpoint('gw').stats().bytesUp
      const r = await page.evaluate(async ({ endpoint, options }) => {
        const w = window as unknown as UppyPage
        w.newUppy({ endpoints: [endpoint], options, goldenRetriever: true })
        await new Promise<void>((resolve) => (w.events.some((e) => e.name === 'restored') ? resolve() : w.uppy.once('restored', () => resolve())))
        // What Uppy's Dashboard does when the user confirms the restore: Golden Retriever restarts the upload.
        const complete = new Promise((resolve) => w.uppy.once('complete', resolve))
        w.uppy.emit('restore-confirmed')
        return w.summary(await complete)
      }, { endpoint: url, options: NO_HEDGES })
      assert.deepEqual(r.failed, [])
      assert.deepEqual(r.successful.map((f) => f.name), ['reloaded.bin'], 'the file came back from Golden Retriever')
      // No byte acknowledged before the reload went up again.
      const sentAfter = proxy.endpoint('gw').stats().bytesUp - sentBefore
      assert.ok(sentAfter <= size - before + HEADERS_ALLOWANCE, `acknowledged ${before} before the reload, ${sentAfter} bytes went up after it (file ${size})`)
      await assertStored(r.successful[0]!.url, size, 51)
    } finally {
      await page.close()
    }
  })

  test('an endpoint that stalls every PATCH body: a hedge on the other endpoint finishes the file, no stall timeout waited for', async () => {
    const { url: stalling, proxy } = await viaProxy({ stallRate: 1, stallAfterBytes: 64 * 1024 })
    const size = 4 * MiB + 5
    const page = await openPage()
    try {
      const started = Date.now()
      const r: Summary = await page.evaluate(async ({ endpoints, options, size }) => {
        const w = window as unknown as UppyPage
        w.newUppy({ endpoints, options })
        w.addFiles([{ name: 'hedged.bin', size, seed: 61 }])
        return w.summary(await w.uppy.upload())
      }, { endpoints: [stalling, gw.url], options: { ...SMALL, stallTimeoutMs: 600_000 }, size })
      assert.deepEqual(r.failed, [])
      assert.ok(proxy.endpoint('gw').stats().faults.stall > 0, 'the proxy did stall PATCH bodies')
      assert.ok(Date.now() - started < 120_000, 'finished long before the 600 s stall timeout')
      // Read from the gateway itself: the final may have been created through the stalling proxy.
      const stored = new URL(r.successful[0]!.url)
      await assertStored(`${new URL(gw.url).origin}${stored.pathname}`, size, 61)
    } finally {
      await page.close()
    }
  })

  test('with --auth jwt: the plugin passes getToken to the client — the file goes up as its owner; without a token it fails with CLIENT_ERR_UNAUTHORIZED', async () => {
    const secret = 'uppy-test-secret-0123456789-abcdefghij'
    const authed = await startGateway(['--auth', 'jwt', '--jwt-secret', secret])
    const page = await openPage()
    try {
      const token = await new SignJWT({ sub: 'uppy-user' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret))
      const run = (withToken: string | undefined) =>
        page.evaluate(async ({ endpoint, options, token }) => {
          const w = window as unknown as UppyPage
          w.newUppy({ endpoints: [endpoint], options, token })
          w.addFiles([{ name: 'owned.bin', size: 2 * 1024 * 1024 + 3, seed: 71 }])
          return { ...w.summary(await w.uppy.upload()), tokenCalls: w.tokenCalls }
        }, { endpoint: authed.url, options: { ...SMALL, retryDelaysMs: [] }, token: withToken })
      const ok = await run(token)
      assert.deepEqual(ok.failed, [])
      assert.equal(ok.tokenCalls, 1, 'asked once, at the first request')
      const url = ok.successful[0]!.url
      assert.equal((await fetch(url)).status, 401, 'the gateway wants a token for the download too')
      assert.deepEqual(await download(url, { authorization: `Bearer ${token}` }), { sha256: sha256(bytes(2 * 1024 * 1024 + 3, 71)), size: 2 * 1024 * 1024 + 3 })
      const refused = await run(undefined)
      assert.deepEqual(refused.successful, [])
      assert.match(refused.failed[0]?.error ?? '', /CLIENT_ERR_UNAUTHORIZED|401/)
    } finally {
      await page.close()
      await authed.stop()
    }
  })

  test('removing a file mid-upload cancels it: added again, it starts afresh (its resume state is gone)', async () => {
    const { url, proxy } = await viaProxy({ bandwidth: [{ bitsPerSecond: 16e6, durationMs: 1 }] })
    const size = 4 * MiB
    const page = await openPage()
    try {
      const r = await page.evaluate(async ({ endpoint, options, size }) => {
        const w = window as unknown as UppyPage
        w.newUppy({ endpoints: [endpoint], options })
        w.addFiles([{ name: 'removed.bin', size, seed: 91 }])
        void w.uppy.upload()
        await w.acked(1024 * 1024)
        w.uppy.removeFile(w.uppy.getFiles()[0].id)
        const errors = w.events.filter((e) => e.name === 'upload-error').length
        await new Promise((resolve) => setTimeout(resolve, 500))
        w.events.length = 0
        w.addFiles([{ name: 'removed.bin', size, seed: 91 }])
        return { errors, again: w.summary(await w.uppy.upload()) }
      }, { endpoint: url, options: SMALL, size })
      assert.equal(r.errors, 0, 'a removed file is not an error')
      assert.deepEqual(r.again.failed, [])
      const first = r.again.events.find((e) => e.name === 'upload-progress')
      assert.ok(first && first.bytesUploaded! < 1024 * 1024, `the re-added file began from scratch (first progress at ${first?.bytesUploaded})`)
      assert.ok(proxy.endpoint('gw').stats().bytesUp >= size + 1024 * 1024, 'its bytes went up again')
      const stored = new URL(r.again.successful[0]!.url)
      await assertStored(`${new URL(gw.url).origin}${stored.pathname}`, size, 91)
    } finally {
      await page.close()
    }
  })
})
