// Issue 5 "Tests": a migration interrupted by `kill -9` at each step leaves every object readable.
// A real child process (helpers/migration-child.ts) opens the store on real FsBackends and a real
// FileManifestStore in a tmp dir, stores five seeded objects (multi-stripe, 4+2 on 7 backends) and
// migrates blocks; it numbers every point where the disk can change (the start of each step, half
// a block body written, a block written, a manifest updated, a block deleted) and stops at the
// point it is told, where the parent SIGKILLs it. Then the parent opens the same directories in
// this process and checks: every object reads back byte-identical (SHA-256), every block a
// manifest references is present and intact (a scrub that only reports finds nothing), and the
// migration re-run from the manifests completes; after it the drained backend can be deleted.
// Kill points are chosen by number, not by time, so each run stops at the same place.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { ScrubLedger, migrateBlock, scrub, type ObjectStore, type ScrubReport } from '../src/index.js'
import { OBJECTS, expectedDigests, openStore, planDrain, rng, sha256, type Move } from './helpers/migration-fixture.js'

const CHILD = fileURLToPath(new URL('./helpers/migration-child.ts', import.meta.url))
const PKG = fileURLToPath(new URL('..', import.meta.url))
const EXPECTED = expectedDigests()

interface PointLine {
  readonly point: number
  readonly step: string
  readonly label: string
}
interface ChildRun {
  readonly lines: readonly Record<string, unknown>[]
  /** The point the child stopped at (and was killed at), or undefined when it ran to the end. */
  readonly stopped: PointLine | undefined
}

/** Runs the child over `root`; with `killAt` > 0, SIGKILLs it once it reports that point. */
async function runChild(root: string, job: 'one' | 'drain', killAt: number): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ root, job, killAt })], { cwd: PKG, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const lines: Record<string, unknown>[] = []
  let stopped: PointLine | undefined
  for await (const text of createInterface({ input: child.stdout })) {
    const msg = JSON.parse(text) as Record<string, unknown>
    lines.push(msg)
    if (msg.stopped !== undefined) {
      stopped = { point: msg.stopped as number, step: msg.step as string, label: msg.label as string }
      child.kill('SIGKILL')
      break
    }
  }
  const exit = await exited
  if (killAt > 0) {
    assert.ok(stopped, `the child never reached point ${killAt}: ${JSON.stringify(lines.slice(-3))} ${stderr}`)
    assert.equal(exit.signal, 'SIGKILL')
  } else {
    assert.equal(exit.code, 0, stderr)
  }
  return { lines, stopped }
}

const points = (run: ChildRun): PointLine[] => run.lines.filter((l): l is PointLine & Record<string, unknown> => typeof l.point === 'number') as PointLine[]

/** Every object byte-identical, and every block the manifests reference present and intact. */
async function assertIntact(store: ObjectStore, where: string): Promise<void> {
  for (const o of OBJECTS) {
    const hash = createHash('sha256')
    for await (const chunk of await store.read(o.id)) hash.update(chunk)
    assert.equal(hash.digest('hex'), EXPECTED.get(o.id), `${o.id} ${where}`)
  }
  const stripes = (await Promise.all(OBJECTS.map(async (o) => (await store.options.manifests.get(o.id))!.stripes.length))).reduce((a, b) => a + b, 0)
  const report = await scrubOnly(store)
  assert.equal(report.verified, stripes, where)
  assert.deepEqual(report.faults, [], `referenced blocks missing or corrupt ${where}`)
}

/** A scrub pass over every stripe that only reports (repairs nothing). */
const scrubOnly = (store: ObjectStore): Promise<ScrubReport> => scrub(store, { ledger: ScrubLedger.memory(), limit: 10_000, repair: false })

/** Whether backend `id` of `store` holds `key` (through the backend's own `stat`). */
async function holds(store: ObjectStore, id: string, key: string): Promise<boolean> {
  return (await store.options.backends.find((b) => b.id === id)!.stat(key)) !== undefined
}

/** A point as the dry run and a later run can both have it: block keys carry random suffixes. */
const same = (p: PointLine): PointLine => ({ ...p, label: p.label.replace(/ [^ ]+\/[^ :]+/g, ' <key>') })

test('one BlockMigration killed with SIGKILL at every point of every step: every object stays readable, and a re-run completes', { timeout: 60_000 }, async (t) => {
  // Dry run: the child runs the whole migration and lists its points.
  const dryRoot = await mkdtemp(join(tmpdir(), 'tessera-migkill-'))
  let dry: ChildRun
  try {
    dry = await runChild(dryRoot, 'one', 0)
  } finally {
    await rm(dryRoot, { recursive: true, force: true })
  }
  const all = points(dry)
  const moveOf = (run: ChildRun) => {
    const line = run.lines.find((l) => l.move !== undefined)!
    return { move: line.move as Move, fromKey: line.fromKey as string }
  }
  const { move } = moveOf(dry)
  // The points cover each step, and the three changes a migration makes (else this proves less).
  assert.deepEqual([...new Set(all.map((p) => p.step))], ['plan', 'copy', 'verify', 'commit', 'cleanup', 'done'])
  const at = (re: RegExp): number => all.find((p) => re.test(p.label))!.point
  const halfCopy = at(/^put .*: half written$/)
  const committed = at(/^manifest obj-a: updated/)
  const deleted = at(new RegExp(`^delete ${move.from} obj-a/[^ ]+: done$`))
  assert.ok(halfCopy < committed && committed < deleted)

  for (const p of all) {
    const root = await mkdtemp(join(tmpdir(), 'tessera-migkill-'))
    try {
      const run = await runChild(root, 'one', p.point)
      assert.deepEqual(same(run.stopped!), same(p), 'the child stops where the dry run had that point (same sequence)')
      assert.deepEqual(moveOf(run).move, move, 'the same move as in the dry run (placement is deterministic)')
      const { fromKey } = moveOf(run)
      const where = `after a kill at point ${p.point} (${p.step}: ${p.label})`

      const store = await openStore(root)
      await assertIntact(store, where)
      const blockNow = async () => (await store.options.manifests.get(move.objectId))!.stripes[move.stripe]!.blocks[move.block]!
      // The manifest moves at commit and only then.
      assert.equal((await blockNow()).backend, p.point >= committed ? move.to : move.from, where)
      // The old block is an unreferenced leftover exactly when the kill fell between commit and its deletion.
      assert.equal(await holds(store, move.from, fromKey), p.point < deleted, where)

      // Recovery: the job re-planned from the manifest (a committed move is done).
      if ((await blockNow()).backend === move.from) {
        const result = await migrateBlock(store, move.objectId, move.stripe, move.block, move.to)
        assert.equal(result.via, 'copy', where)
        assert.equal(result.to.backend, move.to, where)
        assert.equal(result.deletedOld, true, where)
        assert.equal(await holds(store, move.from, fromKey), false, where)
      }
      assert.equal((await blockNow()).backend, move.to, where)
      await assertIntact(await openStore(root), `${where}, re-run`)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  }
  t.diagnostic(`${all.length} kill points: ${all.map((p) => `${p.point} ${p.step}`).join(', ')}`)
})

test('draining a backend with migrateBlock, SIGKILLed at seeded points: every object stays readable, the re-run drains it, and the backend can go', { timeout: 60_000 }, async (t) => {
  const dryRoot = await mkdtemp(join(tmpdir(), 'tessera-migkill-'))
  let all: PointLine[]
  try {
    all = points(await runChild(dryRoot, 'drain', 0))
  } finally {
    await rm(dryRoot, { recursive: true, force: true })
  }
  assert.ok(all.length > 30, `a drain of several blocks: ${all.length} points`)
  // Seeded choice (deterministic: points are numbered, not timed): the first and the last point, and
  // one of each kind — before a move, half a copy written, a copy written, a manifest updated, an
  // old block deleted — so every step of a migrateBlock inside the loop is cut at least once.
  const next = rng(5005)
  const chosen = new Set([1, all.length])
  for (const kind of [/: start$/, /^put .*: half written$/, /^put .*: done$/, /^manifest .*: updated/, /^delete .*: done$/]) {
    const of = all.filter((p) => kind.test(p.label))
    assert.ok(of.length > 0, `the drain has points of kind ${kind}`)
    chosen.add(of[Math.floor(next() * of.length)]!.point)
  }

  for (const k of [...chosen].sort((a, b) => a - b)) {
    const root = await mkdtemp(join(tmpdir(), 'tessera-migkill-'))
    try {
      const run = await runChild(root, 'drain', k)
      assert.deepEqual(same(run.stopped!), same(all[k - 1]!))
      const where = `after a kill at point ${k} (${all[k - 1]!.step}: ${all[k - 1]!.label})`
      const store = await openStore(root)
      await assertIntact(store, where)

      // Re-run: plan the drain again from the manifests and finish it.
      const left = await planDrain(store, 'b0')
      for (const m of left) {
        const result = await migrateBlock(store, m.objectId, m.stripe, m.block, m.to)
        assert.equal(result.to.backend, m.to, where)
      }
      assert.deepEqual(await planDrain(store, 'b0'), [], where)
      await assertIntact(store, `${where}, re-run`)

      // Nothing references b0 any more: remove its directory and every block is still there.
      await rm(join(root, 'b0'), { recursive: true, force: true })
      await assertIntact(await openStore(root), `${where}, re-run, b0 removed`)
      t.diagnostic(`kill at ${k}/${all.length} (${all[k - 1]!.label}): ${left.length} moves left for the re-run`)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  }
})

test('the fixture digests are the bytes the child stores (a sanity check of the comparison itself)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tessera-migkill-'))
  try {
    await runChild(root, 'one', 0)
    const store = await openStore(root)
    const first = OBJECTS[0]!
    const got: Buffer[] = []
    for await (const c of await store.read(first.id)) got.push(Buffer.from(c))
    assert.equal(Buffer.concat(got).length, first.sizes.reduce((a, b) => a + b, 0))
    assert.equal(sha256(Buffer.concat(got)), EXPECTED.get(first.id))
    // And a flipped byte in a referenced whole block is what the scrub check catches.
    const manifest = (await store.options.manifests.get(first.id))!
    const ref = manifest.stripes[0]!.blocks.find((b) => b !== null && b.offset === undefined)!
    const backend = store.options.backends.find((b) => b.id === ref.backend)!
    const bytes = Buffer.from(await backend.read(ref.key))
    bytes[0] = bytes[0]! ^ 0xff
    await backend.put(ref.key, bytes)
    const report = await scrubOnly(await openStore(root))
    assert.equal(report.faults.length, 1)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})
