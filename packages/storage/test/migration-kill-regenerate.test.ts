// Issue 5 "Tests": a migration interrupted by `kill -9` leaves every object readable — the path where
// the block to move no longer reads intact, so `migrateBlock` regenerates it onto the target from the
// other blocks (verified against a second k-subset) instead of copying it. The child process
// (helpers/migration-child.ts, job `regen`) stores the seeded objects on real FsBackends + a real
// FileManifestStore, flips a byte of one whole block on disk, and runs that migration; it is SIGKILLed
// at every point where the disk can change. After each kill the parent opens the same directories
// and checks: every object reads back byte-identical (the reader routes around the corrupt block),
// a report-only scrub finds exactly the planted corruption until the commit and nothing after it,
// the re-run regenerates and commits, and deleting the objects leaves no file behind.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { migrateBlock } from '../src/index.js'
import { assertIntact, assertNothingLeftAfterDelete, holds, points, runChild, same, type ChildRun } from './helpers/migration-kill-rig.js'
import { openStore, type Move } from './helpers/migration-fixture.js'

const moveOf = (run: ChildRun): { move: Move; fromKey: string } => {
  const line = run.lines.find((l) => l.move !== undefined)!
  return { move: line.move as Move, fromKey: line.fromKey as string }
}

test('migrating a corrupt block (regenerated, not copied), SIGKILLed at every point: every object stays readable, and a re-run completes', { timeout: 60_000 }, async (t) => {
  const dryRoot = await mkdtemp(join(tmpdir(), 'tessera-migkill-'))
  let dry: ChildRun
  try {
    dry = await runChild(dryRoot, 'regen', 0)
  } finally {
    await rm(dryRoot, { recursive: true, force: true })
  }
  const all = points(dry)
  const { move } = moveOf(dry)
  const at = (re: RegExp): number => all.find((p) => re.test(p.label))!.point
  const written = at(/^put .*: done$/)
  const committed = at(/^manifest obj-c: updated/)
  const deleted = at(new RegExp(`^delete ${move.from} obj-c/[^ ]+: done$`))
  assert.ok(at(/^put .*: half written$/) < written && written < committed && committed < deleted, JSON.stringify(all))
  const planted = { objectId: move.objectId, stripe: move.stripe, block: move.block, problem: 'corrupt' as const }

  for (const p of all) {
    const root = await mkdtemp(join(tmpdir(), 'tessera-migkill-'))
    try {
      const run = await runChild(root, 'regen', p.point)
      assert.deepEqual(same(run.stopped!), same(p), 'the child stops where the dry run had that point')
      assert.deepEqual(moveOf(run).move, move, 'the same block as in the dry run')
      const { fromKey } = moveOf(run)
      const where = `after a kill at point ${p.point} (${p.label})`

      const store = await openStore(root)
      // Readable throughout; the planted corruption stays referenced until the commit replaces it.
      await assertIntact(store, where, p.point < committed ? [planted] : [])
      const blockNow = async () => (await store.options.manifests.get(move.objectId))!.stripes[move.stripe]!.blocks[move.block]!
      assert.equal((await blockNow()).backend, p.point >= committed ? move.to : move.from, where)
      assert.equal(await holds(store, move.from, fromKey), p.point < deleted, where)

      if ((await blockNow()).backend === move.from) {
        const result = await migrateBlock(store, move.objectId, move.stripe, move.block, move.to)
        assert.equal(result.via, 'regenerate', where)
        assert.equal(result.to.backend, move.to, where)
        assert.equal(result.deletedOld, true, where)
      }
      assert.equal((await blockNow()).backend, move.to, where)
      await assertIntact(await openStore(root), `${where}, re-run`)
      await assertNothingLeftAfterDelete(root, where)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  }
  t.diagnostic(`${all.length} kill points: ${all.map((p) => p.label.replace(/ [^ ]+\/[^ :]+/g, '')).join(' | ')}`)
})
