#!/usr/bin/env node
// The `tessera` bin. A checked-in shim rather than dist/cli/main.js itself: npm links workspace bins
// at `npm ci`, before the build, and skips a bin whose file does not exist yet.
import('../dist/cli/main.js').catch((err) => {
  const missing = err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')
  process.stderr.write(missing ? 'tessera: not built yet: run `npm run build` first\n' : `tessera: ${err && err.message}\n`)
  process.exitCode = 1
})
