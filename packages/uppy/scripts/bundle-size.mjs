// Prints what @tessera/uppy adds to an app's bundle, minified (esbuild) and gzipped (level 9): the
// plugin alone (Uppy's core and @tessera/client left out, as an app that has them already), and
// with @tessera/client's browser entry (what an app using @uppy/tus today adds by switching).
// Run after `npm run build`: node packages/uppy/scripts/bundle-size.mjs
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`

async function measure(label, external) {
  const out = await build({
    absWorkingDir: pkg,
    entryPoints: ['dist/index.js'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    external,
    logLevel: 'warning',
  })
  const bytes = out.outputFiles[0].contents
  console.log(`${label}: ${bytes.length} bytes minified (${kib(bytes.length)}), ${gzipSync(bytes, { level: 9 }).length} bytes gzipped (${kib(gzipSync(bytes, { level: 9 }).length)})`)
}

await measure('@tessera/uppy alone', ['@uppy/core', '@tessera/client', '@tessera/client/*'])
await measure('@tessera/uppy + @tessera/client', ['@uppy/core'])
