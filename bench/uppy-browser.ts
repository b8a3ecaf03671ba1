// A browser upload through Uppy: the same 256 MiB file, picked in an <input type=file>, uploaded by
// Uppy 6 with @tessera/uppy and with @uppy/tus (its defaults: one PATCH for the whole file) to one
// gateway, in headless Chromium, interleaved round by round. Per upload: MB/s (the page's clock
// around `uppy.upload()`) and the main thread's busy time (CDP `Performance.getMetrics`, TaskDuration:
// what the page's own work costs its UI), and every upload downloaded and checked.
//
//   node --import tsx bench/uppy-browser.ts [--size 256MiB] [--rounds 3]
//
// Writes bench/results/uppy-browser.json and .md (packages/uppy/README.md).
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { launchChromium, staticSite } from '../packages/client/test/helpers/chromium.js'
import { UPPY_IMPORT_MAP, uppySite } from '../packages/uppy/test/helpers/uppy-site.js'
import { startGateway } from './lib/gateway.js'
import { machineAfter, machineBefore } from './lib/machine.js'
import { stopChild } from './lib/proc.js'
import { sha256Url, writeSeededFile } from './lib/seeded-file.js'
import { median, parseBytes, round } from './lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({ options: { size: { type: 'string', default: '256MiB' }, rounds: { type: 'string', default: '3' } } })
const SIZE = parseBytes(values.size)
const ROUNDS = Number(values.rounds)
const VARIANTS = ['tessera', 'tus'] as const
type Variant = (typeof VARIANTS)[number]

const PAGE = `<!doctype html>
<meta charset="utf-8">
<input type="file" id="file">
${UPPY_IMPORT_MAP}
<script type="module">
  import { Uppy, Tus } from '/uppy.min.mjs'
  import Tessera from '/plugin/index.js'
  window.run = async ({ variant, endpoint }) => {
    const uppy = new Uppy()
    if (variant === 'tessera') uppy.use(Tessera, { endpoints: [endpoint] })
    else uppy.use(Tus, { endpoint, removeFingerprintOnSuccess: true })
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
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const variant of r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      const page = await browser.newPage()
      try {
        await page.goto(site.url)
        await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true)
        await page.setInputFiles('#file', file)
        const cdp = await page.context().newCDPSession(page)
        await cdp.send('Performance.enable')
        const metric = async (name: string): Promise<number> => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === name)?.value ?? 0
        const [task0, script0] = [await metric('TaskDuration'), await metric('ScriptDuration')]
        const out = (await page.evaluate((a) => (globalThis as unknown as { run: (a: unknown) => Promise<unknown> }).run(a), { variant, endpoint: gateway.endpoint })) as { ms?: number; url?: string; error?: string }
        if (out.error || !out.url || out.ms === undefined) throw new Error(`${variant}: ${out.error}`)
        const [task1, script1] = [await metric('TaskDuration'), await metric('ScriptDuration')]
        const got = await sha256Url(out.url)
        if (got.sha256 !== expected || got.bytes !== SIZE) throw new Error(`${variant}: the download differs (${got.bytes} bytes)`)
        const sample = { round: r, variant, mbPerSecond: round(SIZE / 1e6 / (out.ms / 1000), 1), mainThreadS: round(task1 - task0, 2), scriptS: round(script1 - script0, 2) }
        samples.push(sample)
        console.log(JSON.stringify(sample))
      } finally {
        await page.close()
      }
    }
  }
} finally {
  await browser.close()
  await site.close()
  await stopChild(gateway.server)
  await rm(data, { recursive: true, force: true })
}

const of = (v: Variant) => samples.filter((s) => s.variant === v)
const ratio = (key: 'mbPerSecond' | 'mainThreadS') => round(median(of('tessera').map((t) => t[key] / samples.find((s) => s.round === t.round && s.variant === 'tus')![key])), 3)
const report = {
  command: `node --import tsx bench/uppy-browser.ts --size ${values.size} --rounds ${ROUNDS}`,
  size_bytes: SIZE,
  samples,
  median: Object.fromEntries(VARIANTS.map((v) => [v, { mb_per_s: median(of(v).map((s) => s.mbPerSecond)), main_thread_s: median(of(v).map((s) => s.mainThreadS)), script_s: median(of(v).map((s) => s.scriptS)) }])),
  ratio_mb_per_s: ratio('mbPerSecond'),
  ratio_main_thread_s: ratio('mainThreadS'),
  machine: machineAfter(machine),
}
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results/uppy-browser.json'), `${JSON.stringify(report, null, 2)}\n`)
const rows = VARIANTS.map((v) => `| Uppy + ${v === 'tessera' ? '@tessera/uppy' : '@uppy/tus'} | ${of(v).map((s) => s.mbPerSecond).join(' / ')} | ${of(v).map((s) => s.mainThreadS).join(' / ')} | ${of(v).map((s) => s.scriptS).join(' / ')} |`)
writeFileSync(
  join(here, 'results/uppy-browser.md'),
  `# Uppy in Chromium — ${values.size} from <input type=file>, ${ROUNDS} interleaved rounds\n\n\`${report.command}\`\n\n| variant | MB/s per round | main thread busy s | of which script s |\n|---|---|---|---|\n${rows.join('\n')}\n\nSame-round medians, @tessera/uppy / @uppy/tus: MB/s ${report.ratio_mb_per_s}, main-thread time ${report.ratio_main_thread_s}. Load ${JSON.stringify(report.machine)}.\n`,
)
console.log(rows.join('\n'))
