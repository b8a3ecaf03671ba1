#!/usr/bin/env node
// Runs every test file of the monorepo in one `node --test` run, so there is one summary.
// Usage: node scripts/test.mjs [path-filter …]   e.g. `npm test -- erasure`
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const roots = ['packages', 'apps', 'tools'].flatMap((d) => readdirSync(join(root, d)).map((p) => join(root, d, p, 'test')))
roots.push(join(root, 'test'))

function walk(dir) {
  let entries
  try {
    entries = readdirSync(dir)
  } catch (err) {
    if (err.code === 'ENOENT') return [] // a package without a test folder
    throw err
  }
  return entries.flatMap((name) => {
    const p = join(dir, name)
    if (name === 'node_modules' || name === 'fixtures') return []
    if (statSync(p).isDirectory()) return walk(p)
    return name.endsWith('.test.ts') ? [p] : []
  })
}

const filters = process.argv.slice(2)
const files = roots
  .flatMap(walk)
  .map((p) => relative(root, p))
  .filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)))
  .sort()

if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`)
  process.exit(1)
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } },
)
process.exit(result.status ?? 1)
