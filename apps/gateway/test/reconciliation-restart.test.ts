// Reconciliation state survives kill -9: the gateway process (dist/main.js) is killed mid-way and
// restarted on the same data directory — winners and losers are still known, hashes are rebuilt.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { bytes, download, head, idOf, listFiles, patch } from './helpers/gateway.js'
import { createAttempt, postFinal, readEvents, sha256 } from './helpers/reconciliation.js'
import { isRunning, kill9, startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))

async function start(dataDir: string): Promise<GatewayProcess> {
  return startGatewayProcess([MAIN, '--port', '0', '--data', dataDir, '--block-size', '4KiB', '--log-level', 'info'])
}

describe('reconciliation across kill -9', () => {
  // Fails, not skips: a missing build would otherwise pass the suite with these checks unrun.
  before(() => assert.ok(existsSync(MAIN), 'dist/main.js is not built: run `npm run build` first'))
  let dataDir: string
  let running: GatewayProcess | undefined
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-recon-'))
  })
  after(async () => {
    if (isRunning(running)) await kill9(running!)
    await rm(dataDir, { recursive: true, force: true })
  })

  const blocksOf = async (id: string): Promise<string[]> => (await listFiles(join(dataDir, 'backends'))).filter((f) => f.includes(`${id}/`) && f.endsWith('~blk'))

  test('winners and losers survive; a hash is rebuilt from the stored bytes; a final naming the loser still resolves', { timeout: 60_000 }, async () => {
    const file = bytes(64_000, 53)
    const p0 = file.subarray(0, 40_000)
    const p1 = file.subarray(40_000)

    running = await start(dataDir)
    let ep = running.endpoint
    const a = await createAttempt(ep, 'sess/0', 0, 0, p0)
    const b = await createAttempt(ep, 'sess/0', 0, 1, p0)
    const c = await createAttempt(ep, 'sess/1', 40_000, 0, p1)
    assert.equal((await patch(a, 0, p0.subarray(0, 20_000))).status, 204)
    assert.equal((await patch(b, 0, p0.subarray(0, 10_000))).status, 204)
    await kill9(running)

    // Restart 1: the running hash died with the process; it is rebuilt by re-reading the 20,000
    // committed bytes once, and the attempt wins.
    running = await start(dataDir)
    const rebase = (url: string): string => `${running!.endpoint}/${idOf(url)}`
    ep = running.endpoint
    assert.equal((await head(rebase(a))).headers.get('upload-offset'), '20000')
    const won = await patch(rebase(a), 20_000, p0.subarray(20_000))
    assert.equal(won.status, 204)
    assert.match(running.stdout(), /rebuilding an attempt hash/)
    await kill9(running)

    // Restart 2: the decision is remembered; the loser is told to stop and its blocks are freed.
    running = await start(dataDir)
    ep = running.endpoint
    const lost = await head(rebase(b))
    assert.equal(lost.status, 410)
    assert.equal(lost.headers.get('tessera-error-code'), 'TESSERA_ERR_SUPERSEDED')
    assert.equal(lost.headers.get('tessera-winner'), `/files/${idOf(a)}`)
    assert.deepEqual(await blocksOf(idOf(b)), [])
    assert.ok((await blocksOf(idOf(a))).length > 0)

    assert.equal((await patch(rebase(c), 0, p1)).status, 204)
    const final = await postFinal(ep, [rebase(b), rebase(c)], { 'tessera-sha256': sha256(file) })
    assert.equal(final.status, 201, await final.text())
    assert.ok((await download(final.headers.get('location')!)).equals(file))
    await kill9(running)

    const events = await readEvents(join(dataDir, 'events', 'reconciliation.jsonl'))
    assert.deepEqual(
      events.map((e) => `${e.event} ${e.uploadId === idOf(a) ? 'a' : e.uploadId === idOf(b) ? 'b' : e.uploadId === idOf(c) ? 'c' : 'final'}`),
      ['attempt-created a', 'attempt-created b', 'attempt-created c', 'attempt-won a', 'attempt-lost b', 'attempt-won c', 'final-verified final'],
    )
    // Partition 0 won before the restart: this process's running digest never saw it, so the final read the file.
    assert.equal(events.at(-1)!.verifyRead, true)
  })
})
