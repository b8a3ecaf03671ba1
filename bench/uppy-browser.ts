// A browser upload through Uppy: the same 256 MiB file, picked in an <input type=file>, uploaded by
// Uppy 6 with @tessera/uppy (its default: partitions digested in Web Workers and sent through
// XMLHttpRequest, one PATCH per partition; with `transport: new FetchTransport()`, the fetch transport
// and its 2 MiB PATCHes of before; and with `digestInWorkers: false`, digested on the page's thread) and with @uppy/tus (its
// defaults: one PATCH for the whole file) to one gateway, in headless Chromium, interleaved round by
// round. Per upload: MB/s (the page's clock
// around `uppy.upload()`) and the main thread's busy time (CDP `Performance.getMetrics`, TaskDuration:
// what the page's own work costs its UI), and every upload downloaded and checked.
//
//   node --import tsx bench/uppy-browser.ts [--size 256MiB] [--rounds 3] [--trace]
//
// --trace: after the rounds, one more upload per variant under a Chromium trace (not counted in the
// rounds: tracing slows the page), its main-thread time split by kind of work (bench/lib/main-thread-trace.ts).
//
// Writes bench/results/uppy-browser.json and .md (packages/uppy/README.md).
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { CDPSession } from 'playwright-core'
import { launchChromium, staticSite } from '../packages/client/test/helpers/chromium.js'
import { UPPY_IMPORT_MAP, uppySite } from '../packages/uppy/test/helpers/uppy-site.js'
import { startGateway } from './lib/gateway.js'
import { machineAfter, machineBefore } from './lib/machine.js'
import { WORK_KINDS, traceMainThread } from './lib/main-thread-trace.js'
import { stopChild } from './lib/proc.js'
import { sha256Url, writeSeededFile } from './lib/seeded-file.js'
import { median, parseBytes, round } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({ options: { size: { type: 'string', default: '256MiB' }, rounds: { type: 'string', default: '3' }, trace: { type: 'boolean', default: false } } })
const SIZE = parseBytes(values.size)
const ROUNDS = Number(values.rounds)
const VARIANTS = ['tessera', 'tessera-fetch', 'tessera-page-thread', 'tus'] as const
type Variant = (typeof VARIANTS)[number]
const LABEL: Record<Variant, string> = { tessera: '@tessera/uppy', 'tessera-fetch': '@tessera/uppy, `FetchTransport` (2 MiB PATCHes)', 'tessera-page-thread': '@tessera/uppy, `digestInWorkers: false`', tus: '@uppy/tus' }

const PAGE = `<!doctype html>
<meta charset="utf-8">
<input type="file" id="file">
${UPPY_IMPORT_MAP}
<script type="module">
  import { Uppy, Tus } from '/uppy.min.mjs'
  import Tessera from '/plugin/index.js'
  import { FetchTransport } from '/tessera.js'
  window.run = async ({ variant, endpoint }) => {
    const uppy = new Uppy()
    if (variant === 'tus') uppy.use(Tus, { endpoint, removeFingerprintOnSuccess: true })
    else uppy.use(Tessera, { endpoints: [endpoint], digestInWorkers: variant !== 'tessera-page-thread', ...(variant === 'tessera-fetch' && { transport: new FetchTransport() }) })
    uppy.addFile({ name: 'bench.bin', type: 'application/octet-stream', data: document.getElementById('file').files[0] })
    const t = performance.now()
    const r = await uppy.upload()
    const ms = performance.now() - t
    uppy.destroy()
    if (r.failed.length) return { error: String(r.failed[0].error) }
    return { ms, url: r.successful[0].response.uploadURL }
  }
  window.ready = true
</script>`

interface Sample {
  readonly round: number
  readonly variant: Variant
  readonly mbPerSecond: number
  /** Main-thread busy seconds during the upload (TaskDuration). */
  readonly mainThreadS: number
  /** Of which JavaScript (ScriptDuration). */
  readonly scriptS: number
}

const machine = machineBefore()
const data = await mkdtemp(join(tmpdir(), 'tessera-bench-uppy-'))
const gateway = await startGateway(join(data, 'gw'), ['--log-level', 'warn'])
const file = join(data, 'bench.bin')
const expected = await writeSeededFile(file, SIZE, 256)
const site = await staticSite(await uppySite(PAGE))
const browser = await launchChromium()
const samples: Sample[] = []
/** Per variant, one more upload traced (`--trace`): main-thread seconds in all and per kind of work. */
const traces: Partial<Record<Variant, Awaited<ReturnType<typeof traceMainThread>>>> = {}

/**
 * Uploads the picked file with `variant` in a fresh page; `measure` wraps the upload (CDP on that
 * page; `upload` resolves its ms). Then downloads and checks it.
 */
async function uploadInPage<T>(variant: Variant, measure: (cdp: CDPSession, upload: () => Promise<number>) => Promise<T>): Promise<T> {
  const page = await browser.newPage()
  try {
    await page.goto(site.url)
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true)
    await page.setInputFiles('#file', file)
    const cdp = await page.context().newCDPSession(page)
    let url: string | undefined
    const result = await measure(cdp, async () => {
      const out = (await page.evaluate((a) => (globalThis as unknown as { run: (a: unknown) => Promise<unknown> }).run(a), { variant, endpoint: gateway.endpoint })) as { ms?: number; url?: string; error?: string }
      if (out.error || !out.url || out.ms === undefined) throw new Error(`${variant}: ${out.error}`)
      url = out.url
      return out.ms
    })
    const got = await sha256Url(url!)
    if (got.sha256 !== expected || got.bytes !== SIZE) throw new Error(`${variant}: the download differs (${got.bytes} bytes)`)
    return result
  } finally {
    await page.close()
  }
}

try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const variant of r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      const sample = await uploadInPage(variant, async (cdp, upload) => {
        await cdp.send('Performance.enable')
        const metric = async (name: string): Promise<number> => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === name)?.value ?? 0
        const [task0, script0] = [await metric('TaskDuration'), await metric('ScriptDuration')]
        const ms = await upload()
        const [task1, script1] = [await metric('TaskDuration'), await metric('ScriptDuration')]
        return { round: r, variant, mbPerSecond: round(SIZE / 1e6 / (ms / 1000), 1), mainThreadS: round(task1 - task0, 2), scriptS: round(script1 - script0, 2) }
      })
      samples.push(sample)
      console.log(JSON.stringify(sample))
    }
  }
  if (values.trace) {
    for (const variant of VARIANTS) {
      traces[variant] = await uploadInPage(variant, (cdp, upload) => traceMainThread(cdp, async () => void (await upload())))
      console.log(variant, JSON.stringify(traces[variant]))
    }
  }
} finally {
  await browser.close()
  await site.close()
  await stopChild(gateway.server)
  await rm(data, { recursive: true, force: true })
}

const of = (v: Variant) => samples.filter((s) => s.variant === v)
/** Median over rounds of `variant`'s `key` over the same round's @uppy/tus figure. */
const ratio = (variant: Variant, key: 'mbPerSecond' | 'mainThreadS') => round(median(of(variant).map((t) => t[key] / samples.find((s) => s.round === t.round && s.variant === 'tus')![key])), 3)
const report = {
  command: `node --import tsx bench/uppy-browser.ts --size ${values.size} --rounds ${ROUNDS}${values.trace ? ' --trace' : ''}`,
  size_bytes: SIZE,
  samples,
  median: Object.fromEntries(VARIANTS.map((v) => [v, { mb_per_s: median(of(v).map((s) => s.mbPerSecond)), main_thread_s: median(of(v).map((s) => s.mainThreadS)), script_s: median(of(v).map((s) => s.scriptS)) }])),
  /** Same-round medians against @uppy/tus, per Tessera variant. */
  ratio_to_tus: Object.fromEntries(VARIANTS.filter((v) => v !== 'tus').map((v) => [v, { mb_per_s: ratio(v, 'mbPerSecond'), main_thread_s: ratio(v, 'mainThreadS') }])),
  /** `--trace`: main-thread seconds of one more upload per variant, in all and per kind of work. */
  ...(values.trace && { main_thread_trace: traces }),
  machine: machineAfter(machine),
}
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results/uppy-browser.json'), `${JSON.stringify(report, null, 2)}\n`)
const rows = VARIANTS.map((v) => `| Uppy + ${LABEL[v]} | ${of(v).map((s) => s.mbPerSecond).join(' / ')} | ${of(v).map((s) => s.mainThreadS).join(' / ')} | ${of(v).map((s) => s.scriptS).join(' / ')} |`)
const ratios = Object.entries(report.ratio_to_tus).map(([v, r]) => `${LABEL[v as Variant]}: MB/s ${r.mb_per_s}, main-thread time ${r.main_thread_s}`)
const traced = VARIANTS.filter((v) => traces[v])
const traceTable = traced.length === 0 ? '' : `\n## Main thread of one more upload per variant, traced (s, self time)\n\n| work | ${traced.map((v) => LABEL[v]).join(' | ')} |\n|---|${traced.map(() => '---|').join('')}\n${[...WORK_KINDS.map((k) => `| ${k} | ${traced.map((v) => traces[v]!.byKind[k]).join(' | ')} |`), `| **all** | ${traced.map((v) => `**${traces[v]!.totalS}**`).join(' | ')} |`].join('\n')}\n`
writeFileSync(
  join(here, 'results/uppy-browser.md'),
  `# Uppy in Chromium — ${values.size} from <input type=file>, ${ROUNDS} interleaved rounds\n\n\`${report.command}\`\n\n| variant | MB/s per round | main thread busy s | of which script s |\n|---|---|---|---|\n${rows.join('\n')}\n\nSame-round medians over @uppy/tus — ${ratios.join('; ')}. Load ${JSON.stringify(report.machine)}.\n${traceTable}`,
)
console.log(rows.join('\n'))
