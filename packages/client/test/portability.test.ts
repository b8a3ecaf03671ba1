// The portable core and the browser entry (everything outside src/node/, the Node-only CLI in
// src/cli/ and the Node entry src/index.ts) must run in a browser: no node:* modules, no undici,
// no process/Buffer.
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

test('portable modules import no Node-only module', async () => {
  const src = join(dirname(fileURLToPath(import.meta.url)), '../src')
  const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !/^(node|cli)[/\\]/.test(f))
  assert.ok(files.length > 5)
  assert.ok(files.includes(join('browser', 'index.ts')))
  for (const file of files) {
    const text = await readFile(join(src, file), 'utf8')
    assert.doesNotMatch(text, /from '(node:[^']+|undici|fs|path|os|crypto|stream)'/, file)
    assert.doesNotMatch(text, /\b(process\.|Buffer\.)/, file)
  }
})
