// Post-tsc build step: makes the CLI executable and bundles the browser entry into one minified
// ESM file, dist/browser/tessera.js (esbuild, `browser` conditions, no Node built-ins allowed).
import { chmod } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')

// tsc writes 0644; npm links the bin at install time, before dist/ exists, so set the bit here.
await chmod(join(pkg, 'dist/cli/main.js'), 0o755)

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
