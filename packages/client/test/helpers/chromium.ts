// Headless Chromium for the browser tests (Debian's `chromium`, driven by playwright-core; no
// browser download) and the static site that serves their pages. A missing browser skips the
// suite with the reason, except in CI, where .ci/run installs it and a missing browser is a failure.
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { chromium, type Browser } from 'playwright-core'

const CHROMIUM = process.env['TESSERA_CHROMIUM'] ?? '/usr/bin/chromium'

/** Why the browser suites skip here, or undefined when Chromium is installed. Throws in CI. */
export const chromiumMissing: string | undefined = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium; .ci/run installs it in CI)`
if (chromiumMissing && process.env['CI']) throw new Error(`browser tests must run in CI: ${chromiumMissing}`)
if (chromiumMissing) console.log(`browser tests skipped: ${chromiumMissing}`)

/** Launches headless Chromium with the flags this machine needs, plus `extraArgs`. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [...extraArgs, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** A page or script the static site serves. */
export interface Asset {
  readonly type: string
  readonly body: string | Buffer
}

/** Serves `assets` by path on 127.0.0.1 (another origin than the gateway's, so CORS is exercised); 404 otherwise. */
export async function staticSite(assets: Readonly<Record<string, Asset>>): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const asset = assets[new URL(req.url ?? '/', 'http://x').pathname]
    if (asset) res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' }).end(asset.body)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
