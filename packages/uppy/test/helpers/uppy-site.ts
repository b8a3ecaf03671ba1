// The static site of the Uppy pages (the plugin's browser test, bench/uppy-browser.ts): Uppy's
// prebuilt bundle, a module naming its core for the plugin's `@uppy/core` import, the client's
// browser bundle, the page's deterministic File, and the built plugin under /plugin/.
import { readFile, readdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Asset } from '../../../client/test/helpers/chromium.js'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

/** The import map a page puts before its modules, so the plugin's bare imports resolve to the site's files. */
export const UPPY_IMPORT_MAP = `<script type="importmap">{ "imports": { "@uppy/core": "/uppy-core.mjs", "@tessera/client/browser": "/tessera.js" } }</script>`

/** The site's files with `page` at `/` (it loads `/uppy.min.mjs`, `/plugin/index.js`, `/page-file.js`). */
export async function uppySite(page: string): Promise<Record<string, Asset>> {
  const js = (body: string | Buffer): Asset => ({ type: 'text/javascript', body })
  const out: Record<string, Asset> = {
    '/': { type: 'text/html; charset=utf-8', body: page },
    '/uppy.min.mjs': js(await readFile(join(dirname(require.resolve('uppy/package.json')), 'dist/uppy.min.mjs'))),
    '/uppy-core.mjs': js(`export { BasePlugin, Uppy, Uppy as default } from '/uppy.min.mjs'`),
    '/tessera.js': js(await readFile(join(here, '../../../client/dist/browser/tessera.js'))),
    '/page-file.js': js(await readFile(join(here, '../../../client/test/fixtures/page-file.js'))),
  }
  const plugin = join(here, '../../dist')
  for (const name of await readdir(plugin)) if (name.endsWith('.js')) out[`/plugin/${name}`] = js(await readFile(join(plugin, name)))
  return out
}
