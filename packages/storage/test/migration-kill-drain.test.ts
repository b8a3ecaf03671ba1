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
// This file: draining a backend with migrateBlock, killed at seeded points (helpers/migration-kill-rig.ts).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { migrateBlock } from '../src/index.js'
import { assertIntact, assertNothingLeftAfterDelete, points, runChild, same, type PointLine } from './helpers/migration-kill-rig.js'
import { openStore, planDrain, rng } from './helpers/migration-fixture.js'

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
      await assertNothingLeftAfterDelete(root, where)
      t.diagnostic(`kill at ${k}/${all.length} (${all[k - 1]!.label}): ${left.length} moves left for the re-run`)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  }
})

