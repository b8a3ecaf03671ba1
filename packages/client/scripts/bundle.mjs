// Post-tsc build step: bundles the browser entry into one minified ESM file,
// dist/browser/tessera.js (esbuild, `browser` conditions, no Node built-ins allowed).
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')

await build({
  absWorkingDir: pkg,
  entryPoints: ['dist/browser/index.js'],
  outfile: 'dist/browser/tessera.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'eof',
  logLevel: 'warning',
})
