// Prints the size of the browser bundle (dist/browser/tessera.js), minified and gzipped (level 9).
// Run after `npm run build`: node packages/client/scripts/bundle-size.mjs
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const file = join(dirname(fileURLToPath(import.meta.url)), '../dist/browser/tessera.js')
const bytes = await readFile(file)
const gzip = gzipSync(bytes, { level: 9 }).length
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
console.log(`dist/browser/tessera.js: ${bytes.length} bytes minified (${kib(bytes.length)}), ${gzip} bytes gzipped (${kib(gzip)})`)
