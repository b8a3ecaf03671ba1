// The browser bundle (dist/browser/tessera.js) in headless Chromium (Debian's `chromium`, driven by
// playwright-core) against a real gateway child process: a File built in the page is uploaded
// cross-origin and downloaded in Node byte-identical; an upload stopped mid-way resumes after a
// page reload from its IndexedDB state, and from the localStorage state an earlier version left;
// a file past 1 GiB picked in an <input type=file> uploads with the page's memory bounded; a File's
// partitions are digested in Web Workers (the page's thread reads none of their bytes), as Node's
// crypto digests them, and on the page's thread where a Content-Security-Policy forbids the worker.
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { bytes, download, sha256, startGateway, type Gateway } from './helpers.js'
import { chromiumMissing as missing, launchChromium, staticSite } from './helpers/chromium.js'

const BUNDLE = join(dirname(fileURLToPath(import.meta.url)), '../dist/browser/tessera.js')
const PAGE_FILE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/page-file.js')
const MiB = 1024 * 1024

const PAGE = `<!doctype html>
<meta charset="utf-8">
<!--policy-->
<title>tessera browser test</title>
<input type="file" id="file">
<script type="module">
  import * as tessera from '/tessera.js'
  import { makeFile } from '/page-file.js'
  window.tessera = tessera
  window.makeFile = makeFile
  // Keys of the resume state: IndexedDB's (the default store) and localStorage's (earlier versions).
  // The database is only opened once it exists: opening creates it, without idb-keyval's object store.
  const stateKeys = async () => {
    const local = Object.keys(localStorage).filter((k) => k.startsWith('tessera:'))
    if (!(await indexedDB.databases()).some((d) => d.name === tessera.STATE_DATABASE)) return { idb: [], local }
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open(tessera.STATE_DATABASE)
      r.onsuccess = () => resolve(r.result)
      r.onerror = () => reject(r.error)
    })
    try {
      const q = db.transaction(tessera.STATE_OBJECT_STORE).objectStore(tessera.STATE_OBJECT_STORE).getAllKeys()
      const idb = await new Promise((resolve, reject) => {
        q.onsuccess = () => resolve(q.result.map(String))
        q.onerror = () => reject(q.error)
      })
      return { idb, local }
    } finally {
      db.close()
    }
  }
  // Uploads makeFile(size, seed). stopAfterPartitions: abort once that many partitions completed
  // (what a closed tab or a reload does), leaving the state behind. store 'local': the
  // LocalStorageStateStore earlier versions used by default.
  // fromInput: the File picked in <input id=file>, with the default options.
  window.runUpload = async ({ endpoint, size, seed, stopAfterPartitions, store, fromInput }) => {
    const file = fromInput ? document.getElementById('file').files[0] : window.makeFile(size, seed, 'data.bin')
    // Small partitions so an upload of a few MiB has several, and stopping after one leaves work.
    const small = {
      minPartitionBytes: 256 * 1024,
      initialPartitionBytes: 512 * 1024,
      maxPartitionBytes: 1024 * 1024,
      chunkBytes: 256 * 1024,
      initialConcurrency: 2,
      maxConcurrency: 2,
    }
    const u = tessera.upload(file, {
      endpoints: [endpoint],
      metadata: { filename: file.name },
      ...(!fromInput && small),
      ...(store === 'local' && { stateStore: new tessera.LocalStorageStateStore() }),
    })
    let sent = 0
    let acked = 0
    let done = 0
    let resume
    u.on('progress', (e) => (acked = e.bytesAcked))
    u.on('resume', (e) => (resume = { partitionsDone: e.partitionsDone, partitionsStarted: e.partitionsStarted }))
    u.on('attempt-done', (e) => {
      sent += e.bytesSent
      if (stopAfterPartitions !== undefined && ++done >= stopAfterPartitions) u.abort()
    })
    try {
      const r = await u.done
      return { url: r.url, sha256: r.sha256, size: r.size, sent, acked, state: await stateKeys(), resume }
    } catch (err) {
      return { error: err.code + ": " + err.message, sent, acked, state: await stateKeys(), resume }
    }
  }
  // SHA-256 (hex) of the ranges of makeFile(size, seed), or of the File picked in <input id=file>,
  // by blobSource(file, options).digest, all at once; counts the Workers started and the Blob reads
  // on the page's thread meanwhile.
  window.digestRanges = async ({ size, seed, ranges, options, fromInput }) => {
    const file = fromInput ? document.getElementById('file').files[0] : window.makeFile(size, seed, 'data.bin')
    const counts = { workersStarted: 0, pageReads: 0 }
    const PageWorker = window.Worker
    const arrayBuffer = Blob.prototype.arrayBuffer
    window.Worker = class extends PageWorker {
      constructor(...args) {
        counts.workersStarted++
        super(...args)
      }
    }
    Blob.prototype.arrayBuffer = function () {
      counts.pageReads++
      return arrayBuffer.call(this)
    }
    try {
      const source = tessera.blobSource(file, options)
      const settled = await Promise.allSettled(ranges.map(([start, end]) => source.digest(start, end)))
      const hex = (d) => [...d].map((b) => b.toString(16).padStart(2, '0')).join('')
      const results = settled.map((r) => (r.status === 'fulfilled' ? { sha256: hex(r.value) } : { error: r.reason.code }))
      return { results, ...counts, cores: navigator.hardwareConcurrency }
    } finally {
      window.Worker = PageWorker
      Blob.prototype.arrayBuffer = arrayBuffer
    }
  }
  window.tesseraReady = true
</script>`
/** {@link PAGE} under a Content-Security-Policy that allows no worker. */
const PAGE_NO_WORKERS = PAGE.replace('<!--policy-->', `<meta http-equiv="Content-Security-Policy" content="worker-src 'none'">`)

/** What the page's digestRanges() answers. */
interface DigestResult {
  /** Per range: its SHA-256, hex, or the error code its digest rejected with. */
  readonly results: Array<{ sha256?: string; error?: string }>
  readonly workersStarted: number
  /** `Blob.prototype.arrayBuffer` calls on the page's thread. */
  readonly pageReads: number
  /** `navigator.hardwareConcurrency`. */
  readonly cores: number
}

function digestInPage(page: Page, args: { size?: number; seed?: number; ranges: Array<[number, number]>; options?: { digestInWorkers: boolean }; fromInput?: true }): Promise<DigestResult> {
  return page.evaluate((a) => (window as unknown as { digestRanges: (a: unknown) => Promise<DigestResult> }).digestRanges(a), args)
}

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage()
  page.on('pageerror', (err) => console.log(`# page error: ${err.message}`))
  await page.goto(url)
  await page.waitForFunction(() => (window as unknown as { tesseraReady?: boolean }).tesseraReady === true)
  return page
}

/** What the page's runUpload() answers. */
interface PageResult {
  readonly url?: string
  readonly sha256?: string
  readonly size?: number
  readonly error?: string
  readonly resume?: { partitionsDone: number; partitionsStarted: number }
  /** Body bytes of the attempts that completed a partition in this run. */
  readonly sent: number
  /** Bytes acknowledged, as of the last progress event. */
  readonly acked: number
  /** Resume state left behind: IndexedDB keys and localStorage item names. */
  readonly state: { readonly idb: string[]; readonly local: string[] }
}

/**
 * Uploads the deterministic File in the page. `stopAfterPartitions`: abort once that many
 * partitions completed (what a closed tab or a reload does), leaving the state behind; `store:
 * 'local'`: keep it in localStorage, as earlier versions did.
 */
function uploadInPage(page: Page, args: { endpoint: string; size: number; seed: number; stopAfterPartitions?: number; store?: 'local'; fromInput?: true }): Promise<PageResult> {
  // The logic lives in the page (PAGE): functions compiled by tsx carry helpers the page lacks.
  return page.evaluate((a) => (window as unknown as { runUpload: (a: unknown) => Promise<PageResult> }).runUpload(a), args)
}

/** A switch Chromium ignores, naming this test process: finds our browser among others' (see {@link rendererRss}). */
const BROWSER_TAG = `--tessera-test-run=${process.pid}`

/** Resident memory of the renderer processes of the browser launched with {@link BROWSER_TAG}, bytes (Linux /proc). */
async function rendererRss(): Promise<number> {
  const procs = new Map<number, { ppid: number; cmdline: string; rss: number }>()
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replaceAll('\0', ' ')
      procs.set(Number(name), { ppid: Number(fields[1]), cmdline, rss: Number(fields[21]) * 4096 })
    } catch {
      // gone meanwhile
    }
  }
  const roots = [...procs].filter(([, p]) => p.cmdline.includes(BROWSER_TAG) && !p.cmdline.includes('--type=')).map(([pid]) => pid)
  const within = (pid: number): boolean => {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = procs.get(at)?.ppid) if (roots.includes(at)) return true
    return false
  }
  return [...procs].filter(([pid, p]) => p.cmdline.includes('--type=renderer') && within(pid)).reduce((sum, [, p]) => sum + p.rss, 0)
}

/** Writes `size` random bytes to `path`, streamed; their SHA-256, hex. */
async function randomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256')
  const out = createWriteStream(path)
  for (let left = size; left > 0; ) {
    const piece = randomBytes(Math.min(left, 4 * MiB))
    hash.update(piece)
    left -= piece.length
    if (!out.write(piece)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
  return hash.digest('hex')
}

describe('browser bundle in headless Chromium', { skip: missing, timeout: 120_000 }, () => {
  let gw: Gateway
  let site: { url: string; close: () => Promise<void> }
  let browser: Browser
  before(async () => {
    gw = await startGateway()
    site = await staticSite({
      '/': { type: 'text/html; charset=utf-8', body: PAGE },
      '/no-workers': { type: 'text/html; charset=utf-8', body: PAGE_NO_WORKERS },
      '/tessera.js': { type: 'text/javascript', body: await readFile(BUNDLE) },
      '/page-file.js': { type: 'text/javascript', body: await readFile(PAGE_FILE) },
    })
    browser = await launchChromium([BROWSER_TAG])
  })
  after(async () => {
    await browser?.close()
    await site?.close()
    await gw?.stop()
  })

  test('a File built in the page uploads cross-origin; the download in Node is byte-identical', async () => {
    const size = 5 * MiB + 123
    const page = await openPage(browser, site.url)
    try {
      const r = await uploadInPage(page, { endpoint: gw.url, size, seed: 21 })
      assert.equal(r.error, undefined)
      const expected = sha256(bytes(size, 21))
      assert.equal(r.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
      assert.equal(r.size, size)
      assert.deepEqual(await download(r.url!), { sha256: expected, size })
      assert.deepEqual(r.state, { idb: [], local: [] }, 'the state of a finished upload is removed')
    } finally {
      await page.close()
    }
  })

  /** Stops an upload after one partition, reloads the page, runs it again; returns both runs. */
  async function stopReloadResume(page: Page, size: number, seed: number, store?: 'local'): Promise<{ first: PageResult; second: PageResult }> {
    const first = await uploadInPage(page, { endpoint: gw.url, size, seed, stopAfterPartitions: 1, ...(store && { store }) })
    assert.match(first.error ?? '', /^CLIENT_ERR_ABORTED: /)
    await page.reload()
    await page.waitForFunction(() => (window as unknown as { tesseraReady?: boolean }).tesseraReady === true)
    const second = await uploadInPage(page, { endpoint: gw.url, size, seed })
    assert.equal(second.error, undefined)
    assert.ok(second.resume && second.resume.partitionsDone >= 1, JSON.stringify(second.resume))
    // No byte acknowledged before the reload is sent again.
    assert.ok(first.acked > 0)
    assert.ok(second.sent <= size - first.acked, `acknowledged ${first.acked} before the reload, re-sent ${second.sent} of ${size}`)
    assert.equal(second.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(second.url!), { sha256: sha256(bytes(size, seed)), size })
    assert.deepEqual(second.state, { idb: [], local: [] }, 'the state of a finished upload is removed')
    return { first, second }
  }

  test('an upload stopped after one partition resumes after a page reload (IndexedDB): acknowledged bytes are not re-sent', async () => {
    const page = await openPage(browser, site.url)
    try {
      const { first } = await stopReloadResume(page, 6 * MiB, 22)
      assert.equal(first.state.idb.length, 1, 'the aborted upload left its state in IndexedDB')
      assert.deepEqual(first.state.local, [], 'and nothing in localStorage')
    } finally {
      await page.close()
    }
  })

  test('an upload an earlier version left in localStorage resumes from there, and its state moves to IndexedDB', async () => {
    const page = await openPage(browser, site.url)
    try {
      const { first } = await stopReloadResume(page, 6 * MiB, 23, 'local')
      assert.deepEqual(first.state, { idb: [], local: [first.state.local[0]!] }, JSON.stringify(first.state))
    } finally {
      await page.close()
    }
  })

  test("a File's partitions are digested in Web Workers: Node's SHA-256 of every range, none of their bytes read on the page", async () => {
    const size = 9 * MiB + 77
    const data = bytes(size, 24)
    // More ranges at once than workers: the pool queues the rest. Odd offsets, an empty range, the whole file.
    const ranges: Array<[number, number]> = [[0, size], [1, 2 * MiB + 1], [size - 5, size], [7, 7], [3 * MiB, 5 * MiB + 3], [MiB, 2 * MiB], [0, 1], [4 * MiB + 1, 9 * MiB]]
    const expected = ranges.map(([start, end]) => ({ sha256: sha256(data.subarray(start, end)) }))
    const page = await openPage(browser, site.url)
    try {
      const inWorkers = await digestInPage(page, { size, seed: 24, ranges })
      assert.deepEqual(inWorkers.results, expected)
      assert.equal(inWorkers.pageReads, 0, 'the workers read the ranges themselves')
      assert.ok(inWorkers.workersStarted >= 1 && inWorkers.workersStarted <= Math.min(4, inWorkers.cores), `${inWorkers.workersStarted} workers on ${inWorkers.cores} cores`)

      const onPage = await digestInPage(page, { size, seed: 24, ranges, options: { digestInWorkers: false } })
      assert.deepEqual(onPage.results, expected)
      assert.deepEqual([onPage.workersStarted, onPage.pageReads], [0, ranges.length])
    } finally {
      await page.close()
    }
  })

  test('where a Content-Security-Policy forbids workers, the page digests the ranges itself — the same SHA-256', async () => {
    const size = 3 * MiB + 1
    const ranges: Array<[number, number]> = [[0, size], [5, 2 * MiB], [MiB, MiB + 9]]
    const page = await openPage(browser, `${site.url}no-workers`)
    try {
      const expected = ranges.map(([start, end]) => ({ sha256: sha256(bytes(size, 25).subarray(start, end)) }))
      // The policy's refusal arrives as the workers' error event: the ranges handed to them come back.
      const first = await digestInPage(page, { size, seed: 25, ranges })
      assert.deepEqual(first.results, expected)
      assert.ok(first.workersStarted >= 1 && first.workersStarted <= Math.min(4, first.cores), String(first.workersStarted))
      assert.equal(first.pageReads, ranges.length)
      const later = await digestInPage(page, { size, seed: 25, ranges })
      assert.deepEqual(later.results, expected)
      assert.deepEqual([later.workersStarted, later.pageReads], [0, ranges.length], 'the pool gave up: no worker is tried again')
    } finally {
      await page.close()
    }
  })

  test('in a worker, a range past the end of the File is CLIENT_ERR_SOURCE_SHORT, and a File gone from disk CLIENT_ERR_SOURCE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-browser-gone-'))
    const page = await openPage(browser, site.url)
    try {
      const path = join(dir, 'gone.bin')
      await writeFile(path, bytes(2 * MiB, 26))
      await page.setInputFiles('#file', path)
      const before = await digestInPage(page, { ranges: [[0, 2 * MiB + 1], [MiB, 2 * MiB]], fromInput: true })
      assert.deepEqual(before.results, [{ error: 'CLIENT_ERR_SOURCE_SHORT' }, { sha256: sha256(bytes(2 * MiB, 26).subarray(MiB)) }])
      assert.equal(before.pageReads, 0)
      await rm(path)
      const gone = await digestInPage(page, { ranges: [[0, MiB]], fromInput: true })
      assert.deepEqual(gone.results, [{ error: 'CLIENT_ERR_SOURCE' }])
      assert.equal(gone.pageReads, 0)
    } finally {
      await page.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  test("a file past 1 GiB picked in an <input type=file> uploads byte-identical with the page's memory bounded", { timeout: 600_000 }, async () => {
    const size = 1024 * MiB + MiB + 7
    const dir = await mkdtemp(join(tmpdir(), 'tessera-browser-big-'))
    const page = await openPage(browser, site.url)
    try {
      const path = join(dir, 'big.bin')
      const expected = await randomFile(path, size)
      await page.setInputFiles('#file', path)
      const idle = await rendererRss()
      let peak = idle
      const sampler = setInterval(() => void rendererRss().then((rss) => (peak = Math.max(peak, rss))), 250)
      const started = performance.now()
      let r: PageResult
      try {
        r = await uploadInPage(page, { endpoint: gw.url, size, seed: 0, fromInput: true })
      } finally {
        clearInterval(sampler)
      }
      const seconds = (performance.now() - started) / 1000
      console.log(`1 GiB from <input type=file>: ${(size / MiB / seconds).toFixed(0)} MiB/s, renderer RSS ${(idle / MiB).toFixed(0)} MiB idle, ${(peak / MiB).toFixed(0)} MiB peak`)
      assert.equal(r.error, undefined)
      assert.ok(idle > 0, 'the renderer processes were found')
      assert.ok(peak - idle < 256 * MiB, `the renderers grew by ${((peak - idle) / MiB).toFixed(0)} MiB uploading ${(size / MiB).toFixed(0)} MiB`)
      assert.deepEqual(await download(r.url!), { sha256: expected, size })
    } finally {
      await page.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
