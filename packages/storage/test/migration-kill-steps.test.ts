// Issue 5 "Tests": a migration interrupted by `kill -9` at each step leaves every object readable.
// A real child process (helpers/migration-child.ts) opens the store on real FsBackends and a real
// FileManifestStore in a tmp dir, stores five seeded objects (multi-stripe, 4+2 on 7 backends) and
// migrates blocks; it numbers every point where the disk can change (the start of each step, half
// a block body written, a block written, a manifest updated, a block deleted) and stops at the
// point it is told, where the parent SIGKILLs it. Then the parent opens the same directories in
// this process and checks: every object reads back byte-identical (SHA-256), every block a
// manifest references is present and intact (a scrub that only reports finds nothing), the
// migration re-run from the manifests completes, and deleting the objects leaves no file behind.
// Kill points are chosen by number, not by time, so each run stops at the same place.
// This file: one BlockMigration, killed at every point (helpers/migration-kill-rig.ts).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { migrateBlock } from '../src/index.js'
import { EXPECTED, assertIntact, assertNothingLeftAfterDelete, holds, points, runChild, same, scrubOnly, type ChildRun } from './helpers/migration-kill-rig.js'
import { OBJECTS, openStore, sha256, type Move } from './helpers/migration-fixture.js'

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
      // The old block stays until cleanup deletes it (between commit and cleanup: an unreferenced leftover).
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
      await assertNothingLeftAfterDelete(root, where)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  }
  t.diagnostic(`${all.length} kill points: ${all.map((p) => `${p.point} ${p.step}`).join(', ')}`)
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

