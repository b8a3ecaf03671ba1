// Issue 11's rebalancing test: a backend made hot by real reads gives up hot blocks through the
// durability queue, and a `kill -9` in the middle of such a move changes nothing a reader sees. A
// real gateway process (helpers/rebalance-child.ts: main.ts's wiring, with the writes of moved blocks
// delayed so the move is in flight) on 8 backend directories, 4+2, 4 KiB blocks, no echo cache (the
// load must reach the backends), 300 ms load windows. Reads run throughout and every answer is
// compared byte for byte; after the restart on the same data directory every block a manifest
// names is on its backend, the move is done again or left cleanly, and deleting the uploads leaves
// no block behind.
import assert from 'node:assert/strict'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'
import { FileManifestStore, type Manifest } from '@tessera/storage'
import { fsMedium } from '../src/testing/index.js'
import { TUS, bytes, patch } from './helpers/gateway.js'
import { isRunning, kill9, startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js'

const CHILD = fileURLToPath(new URL('./helpers/rebalance-child.ts', import.meta.url))
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))
const BLOCK = 4096
const OBJECTS = 6
const SIZE = 2 * 4 * BLOCK

interface Running extends GatewayProcess {
  readonly origin: string
  /** The JSON log lines so far. */
  readonly logs: { msg: string; [field: string]: unknown }[]
}

async function start(dataDir: string, dirs: readonly string[], moveDelayMs: number): Promise<Running> {
  const args = ['--import', 'tsx', CHILD, '--port', '0', '--data', dataDir, '--backends', dirs.join(','), '--block-size', '4KiB', '--echo-memory', '0', '--load-window', '300ms', '--rebalance-threshold', '0.5', '--rebalance-moves', '2', '--probe', 'none', '--log-level', 'info']
  const logs: Running['logs'] = []
  const onLine = (line: string): void => {
    if (line.startsWith('{')) logs.push(JSON.parse(line) as Running['logs'][number])
  }
  const run = await startGatewayProcess(args, { cwd: PACKAGE_DIR, env: { ...process.env, TESSERA_TEST_MOVE_DELAY_MS: String(moveDelayMs) }, onLine })
  return { ...run, origin: new URL(run.endpoint).origin, logs }
}

/** Polls until `until()` holds; a hang guard (fails after `guardMs`), not a timing assertion. */
async function waitFor(what: string, until: () => boolean | Promise<boolean>, guardMs = 30_000): Promise<void> {
  const deadline = Date.now() + guardMs
  while (!(await until())) {
    if (Date.now() > deadline) throw new Error(`hang guard: ${what} did not happen within ${guardMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

let running: Running | undefined
let dataDir: string | undefined
after(async () => {
  if (isRunning(running)) await kill9(running!)
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

test('rebalancing moves a hot block, and every read stays identical during and after a kill -9 mid-move', { timeout: 120_000 }, async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tessera-rebalance-'))
  const dirs = Array.from({ length: 8 }, (_, i) => join(dataDir!, 'backends', `d${i}`))
  const medium = fsMedium(dirs)
  running = await start(dataDir, dirs, 60_000)

  // Six uploads of two stripes each.
  const files = new Map<string, Buffer>()
  for (let i = 0; i < OBJECTS; i++) {
    const body = bytes(SIZE, 90 + i)
    const res = await fetch(`${running.origin}/files`, { method: 'POST', headers: { ...TUS, 'Upload-Length': String(SIZE) } })
    const url: string = new URL(res.headers.get('location')!, running.origin).href
    assert.equal((await patch(url, 0, body)).status, 204)
    files.set(url, body)
  }
  const manifests = await FileManifestStore.open({ dir: join(dataDir, 'meta', 'manifests') })
  const manifestOf = async (url: string): Promise<Manifest> => (await manifests.get(url.slice(url.lastIndexOf('/') + 1)))!

  // The hot backend: the one holding the most data blocks; its blocks are what the readers read.
  const onBackend = new Map<string, { url: string; stripe: number; block: number }[]>()
  for (const url of files.keys()) {
    ;(await manifestOf(url)).stripes.forEach((s, stripe) => s.blocks.slice(0, 4).forEach((b, block) => onBackend.set(b!.backend, [...(onBackend.get(b!.backend) ?? []), { url, stripe, block }])))
  }
  const [hot, warm] = [...onBackend].sort((a, b) => b[1].length - a[1].length)[0]!
  assert.ok(warm.length >= 4, `the hot backend holds ${warm.length} data blocks`)

  // Readers: ranged GETs of those blocks (a range inside one block reads just that block), each
  // answer compared with the bytes uploaded. Refused connections while the gateway is down are expected.
  let origin = running.origin
  let reading = true
  let answered = 0
  const mismatches: string[] = []
  const reader = async (n: number): Promise<void> => {
    for (let i = n; reading; i++) {
      const w = warm[i % warm.length]!
      const startByte = (w.stripe * 4 + w.block) * BLOCK + 10
      const url: string = w.url.replace(/^http:\/\/[^/]+/, origin)
      try {
        const res = await fetch(url, { headers: { Range: `bytes=${startByte}-${startByte + 999}` } })
        const body = Buffer.from(await res.arrayBuffer())
        if (res.status !== 206 || !body.equals(files.get(w.url)!.subarray(startByte, startByte + 1000))) mismatches.push(`${res.status} ${w.url} @${startByte}`)
        answered++
      } catch {
        await new Promise((r) => setTimeout(r, 20)) // down: killed, not yet restarted
      }
    }
  }
  const readers = Array.from({ length: 4 }, (_, n) => reader(n))

  // The move starts (its write of the copy is held back) — then kill -9 mid-move.
  const moveStarted = () => running!.logs.find((l) => l.msg === 'block move started' && l['kind'] === 'rebalance')
  await waitFor('a rebalancing move off the hot backend', () => moveStarted() !== undefined)
  const move = moveStarted()!
  assert.equal(move['from'], hot)
  await kill9(running)
  const cut = await manifestOf([...files.keys()].find((u) => u.endsWith(`/${String(move['objectId'])}`))!)
  assert.equal(cut.stripes[move['stripe'] as number]!.blocks[move['block'] as number]!.backend, hot, 'killed before the commit: the manifest still names the old block')

  // Restart on the same data directory (no delay now): the readers carry on.
  running = await start(dataDir, dirs, 0)
  origin = running.origin
  await waitFor('the rebalancing moves a block again after the restart', async () => {
    const res = await fetch(`${running!.origin}/_tessera/read`)
    const status = (await res.json()) as { rebalance: { done: number } | null }
    return (status.rebalance?.done ?? 0) >= 1
  })
  const afterRestart = answered
  await waitFor('reads answered after the move', () => answered > afterRestart + 20)
  reading = false
  await Promise.all(readers)
  assert.deepEqual(mismatches, [], 'every read answered identical bytes')

  // Every block a manifest names is where it says (a move leaves no dangling ref), and every upload reads back whole.
  for (const [url, body] of files) {
    const m = await manifestOf(url)
    for (const s of m.stripes) {
      for (const ref of s.blocks) {
        const file = await medium.blockFile(ref!)
        assert.ok((await stat(file)).size >= (ref!.offset ?? 0) + BLOCK, `${ref!.backend}/${ref!.key} is there`)
      }
    }
    const res = await fetch(url.replace(/^http:\/\/[^/]+/, origin))
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(body), `${url} reads back identical`)
  }
  const done = running.logs.filter((l) => l.msg === 'durability action' && l['action'] === 'rebalance' && l['outcome'] === 'done')
  assert.ok(done.length >= 1 && done.every((l) => l['backend'] === hot), 'the moves took blocks off the hot backend')

  // Deleting the uploads leaves nothing: the copy cut by the kill was under the upload's keys.
  for (const url of files.keys()) assert.equal((await fetch(url.replace(/^http:\/\/[^/]+/, origin), { method: 'DELETE', headers: TUS })).status, 204)
  for (const dir of dirs) assert.deepEqual(await medium.keys(await medium.idOf(dirs.indexOf(dir))), [], `${dir} holds no block`)
  await kill9(running)
})
