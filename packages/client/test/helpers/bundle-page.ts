// A gateway and a headless Chromium page that has loaded the browser bundle (dist/browser/tessera.js)
// and the page-file fixture next to a test's own page: how the suites that drive upload() inside a
// page begin.
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { startGateway, type Gateway } from '../helpers.js'
import { launchChromium, staticSite } from './chromium.js'

const here = dirname(fileURLToPath(import.meta.url))

/** The gateway, the page (its script has set `globalThis.ready`), and what stops them all. */
export interface BundlePage {
  readonly gw: Gateway
  readonly page: Page
  close(): Promise<void>
}

/** Starts a gateway with `gatewayArgs`, serves `html` with the bundle on another origin, and opens it. */
export async function openBundlePage(html: string, gatewayArgs: readonly string[] = []): Promise<BundlePage> {
  const opened: (() => Promise<void>)[] = []
  const close = async (): Promise<void> => {
    for (const stop of opened.reverse()) await stop()
  }
  try {
    const gw = await startGateway([...gatewayArgs])
    opened.push(() => gw.stop())
    const site = await staticSite({
      '/': { type: 'text/html; charset=utf-8', body: html },
      '/tessera.js': { type: 'text/javascript', body: await readFile(join(here, '../../dist/browser/tessera.js')) },
      '/page-file.js': { type: 'text/javascript', body: await readFile(join(here, '../fixtures/page-file.js')) },
    })
    opened.push(() => site.close())
    const browser = await launchChromium()
    opened.push(() => browser.close())
    const page = await browser.newPage()
    page.on('pageerror', (err) => console.log(`# page error: ${err.message}`))
    await page.goto(site.url)
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true)
    return { gw, page, close }
  } catch (err) {
    await close()
    throw err
  }
}
