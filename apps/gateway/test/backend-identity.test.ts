// A backend directory's id: created once, whole, and the same for every opener — also for gateway
// processes that open a fresh shared directory at the same moment (real processes, real files).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { after, test } from 'node:test'
import { backendIdentity } from '../src/backend-identity.js'

const run = promisify(execFile)
const MODULE = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'backend-identity.js')).href
/** One opener: waits for the common start time, so the processes race, then prints the id. */
const OPENER = `const { backendIdentity } = await import(process.argv[1]); const at = Number(process.argv[3]); while (Date.now() < at); process.stdout.write(await backendIdentity(process.argv[2]))`

const root = await mkdtemp(join(tmpdir(), 'tessera-backend-id-'))
after(() => rm(root, { recursive: true, force: true }))

test('processes opening one fresh directory at once all get the same, non-empty id; nothing else is left there', { timeout: 60_000 }, async () => {
  for (let i = 0; i < 30; i++) {
    const dir = join(root, `d${i}`)
    const at = Date.now() + 300
    const ids = await Promise.all(Array.from({ length: 3 }, async () => (await run(process.execPath, ['--input-type=module', '-e', OPENER, MODULE, dir, String(at)])).stdout))
    assert.match(ids[0]!, /^fs-[0-9a-f]{12}$/, `trial ${i}`)
    assert.deepEqual(new Set(ids), new Set([ids[0]]), `trial ${i}: ${ids.join(', ')}`)
    assert.deepEqual(await readdir(dir), ['.tessera-backend-id'])
    assert.equal(await backendIdentity(dir), ids[0], 'a later opener reads the same id')
  }
})
