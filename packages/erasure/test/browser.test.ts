// The codec in headless Chromium (Debian's `chromium`, driven by playwright-core): the same
// WebAssembly kernel encodes and reconstructs in a browser, and its parity is byte-identical to
// Node's. Skips (with the reason) where /usr/bin/chromium is missing, except in CI, where .ci/run
// installs it and a missing browser is a failure.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { build } from 'esbuild'
import { chromium, type Browser } from 'playwright-core'
import { ReedSolomon, createBlockChecksum } from '../src/index.js'

const CHROMIUM = process.env['TESSERA_CHROMIUM'] ?? '/usr/bin/chromium'
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium; .ci/run installs it in CI)`
if (missing && process.env['CI']) throw new Error(`browser tests must run in CI: ${missing}`)
if (missing) console.log(`erasure browser test skipped: ${missing}`)

const BLOCK = 64 * 1024 + 5

/** Deterministic block contents, the same function in Node and in the page. */
function fill(k: number, size: number): Uint8Array[] {
  return Array.from({ length: k }, (_, b) => {
    const out = new Uint8Array(size)
    let x = (b + 1) * 2654435761
    for (let i = 0; i < size; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      out[i] = x >>> 24
    }
    return out
  })
}

describe('erasure codec in headless Chromium', { skip: missing, timeout: 60_000 }, () => {
  let browser: Browser
  let bundle: string
  before(async () => {
    const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url))
    const out = await build({
      stdin: { contents: `export { ReedSolomon, createBlockChecksum } from ${JSON.stringify(entry)}`, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts' },
      bundle: true,
      format: 'iife',
      globalName: 'erasure',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    })
    bundle = out.outputFiles[0]!.text
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  })
  after(async () => {
    await browser?.close()
  })

  test('4+2 and 10+4: parity identical to Node, any m lost blocks reconstructed in the page', async () => {
    const page = await browser.newPage()
    try {
      await page.addScriptTag({ content: bundle })
      for (const [k, m] of [[4, 2], [10, 4]] as const) {
        const inPage = await page.evaluate(
          async ({ k, m, size, fillSource }) => {
            const { ReedSolomon, createBlockChecksum } = (globalThis as unknown as { erasure: typeof import('../src/index.js') }).erasure
            const fillFn = new Function(`return ${fillSource}`)() as (k: number, size: number) => Uint8Array[]
            const rs = await ReedSolomon.create({ dataBlocks: k, parityBlocks: m })
            const checksum = await createBlockChecksum()
            const data = fillFn(k, size)
            const parity = Array.from({ length: m }, () => new Uint8Array(size))
            rs.encode(data, parity)
            const all = [...data, ...parity]
            // Lose the first m blocks (all data when m ≤ k): the hardest case for a systematic code.
            const damaged = all.map((b, i) => (i < m ? undefined : b))
            const rebuilt = rs.reconstruct(damaged)
            return {
              kernel: rs.kernel,
              parity: parity.map(checksum),
              rebuiltOk: rebuilt.every((b, i) => b !== undefined && checksum(b) === checksum(all[i]!)),
              verify: rs.verify(all),
            }
          },
          { k, m, size: BLOCK, fillSource: fill.toString() },
        )
        const rs = await ReedSolomon.create({ dataBlocks: k, parityBlocks: m })
        const checksum = await createBlockChecksum()
        const parity = Array.from({ length: m }, () => new Uint8Array(BLOCK))
        rs.encode(fill(k, BLOCK), parity)
        assert.notEqual(inPage.kernel, 'scalar', `${k}+${m}: the page used the WebAssembly kernel`)
        assert.deepEqual(inPage.parity, parity.map(checksum), `${k}+${m}: parity identical to Node's`)
        assert.equal(inPage.rebuiltOk, true, `${k}+${m}: reconstructed in the page`)
        assert.equal(inPage.verify, true)
      }
    } finally {
      await page.close()
    }
  })
})
