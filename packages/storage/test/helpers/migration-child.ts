// The process `migration-kill.test.ts` kills with SIGKILL (run with `node --import tsx`).
// argv[2]: JSON `{ root, job, killAt }`.
// - Opens the store over `root` (real FsBackends + FileManifestStore, see migration-fixture.ts),
//   stores the seeded objects, then runs `job`:
//   `one`: one BlockMigration (a whole block of stripe 1 of obj-a off its backend), step by step;
//   `drain`: `migrateBlock` for every block on b0, one after the other;
//   `regen`: `migrateBlock` of a block corrupted on disk first, which regenerates it instead.
// - Numbers every point of the job (the start of each step, and every change to the disk: half a
//   block's body written, a block written, a block deleted, a manifest updated) from 1 and prints
//   each as a JSON line `{"point":n,"step":…,"label":…}`. At point `killAt` it prints
//   `{"stopped":n,…}` and waits forever for its SIGKILL. `killAt` 0 runs to the end and prints
//   `{"done":points}` (the parent's dry run, to enumerate the points).
import { BlockMigration, migrateBlock } from '../../src/index.js'
import { WHOLE, openStore, planDrain, storeObjects, type Move } from './migration-fixture.js'

const { root, job, killAt } = JSON.parse(process.argv[2]!) as { root: string; job: 'one' | 'drain' | 'regen'; killAt: number }

let armed = false
let n = 0
let step = 'plan'
const line = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`)

async function point(label: string): Promise<void> {
  if (!armed) return
  n++
  if (n === killAt) {
    line({ stopped: n, step, label })
    setInterval(() => undefined, 60_000) // keep the event loop alive: this process ends only by SIGKILL
    await new Promise<never>(() => undefined)
  }
  line({ point: n, step, label })
}

const store = await openStore(root, point)
await storeObjects(store)
armed = true

async function stepped(move: Move): Promise<void> {
  step = 'plan'
  await point(`${move.objectId}#${move.stripe}.${move.block}: plan`)
  const m = await BlockMigration.plan(store, move.objectId, move.stripe, move.block, move.to)
  for (const [name, run] of [
    ['copy', () => m.copy()],
    ['verify', () => m.verify()],
    ['commit', () => m.commit()],
    ['cleanup', () => m.cleanup()],
  ] as const) {
    step = name
    await point(`${move.objectId}#${move.stripe}.${move.block}: ${name}`)
    await run()
  }
  step = 'done'
}

if (job === 'one') {
  // The first block of stripe 1 of obj-a on a whole-block backend, so `cleanup` deletes it.
  const manifest = await store.options.manifests.get('obj-a')
  const stripe = manifest!.stripes[1]!
  const block = stripe.blocks.findIndex((b) => b !== null && WHOLE.has(b.backend))
  const from = stripe.blocks[block]!
  const to = store.options.backends.map((b) => b.id).find((id) => !stripe.blocks.some((b) => b?.backend === id))!
  const move = { objectId: 'obj-a', stripe: 1, block, from: from.backend, to }
  line({ move, fromKey: from.key })
  await stepped(move)
} else if (job === 'regen') {
  // A whole block of stripe 0 of obj-c that no longer reads intact (one byte flipped on disk before
  // the job): migrateBlock cannot copy it and regenerates it onto the target from the other blocks.
  const stripe = (await store.options.manifests.get('obj-c'))!.stripes[0]!
  const block = stripe.blocks.findIndex((b) => b !== null && WHOLE.has(b.backend))
  const from = stripe.blocks[block]!
  const to = store.options.backends.map((b) => b.id).find((id) => !stripe.blocks.some((b) => b?.backend === id))!
  const backend = store.options.backends.find((b) => b.id === from.backend)!
  armed = false
  const bytes = Buffer.from(await backend.read(from.key))
  bytes[17] = bytes[17]! ^ 0x5a
  await backend.put(from.key, bytes)
  armed = true
  line({ move: { objectId: 'obj-c', stripe: 0, block, from: from.backend, to }, fromKey: from.key })
  step = 'migrate (regenerate)'
  await point('obj-c#0: start')
  const result = await migrateBlock(store, 'obj-c', 0, block, to)
  if (result.via !== 'regenerate') throw new Error(`expected a regeneration, got ${result.via}`)
} else {
  for (const move of await planDrain(store, 'b0')) {
    step = `migrate ${move.objectId}#${move.stripe}.${move.block}`
    await point(`${move.objectId}#${move.stripe}.${move.block}: start`)
    await migrateBlock(store, move.objectId, move.stripe, move.block, move.to)
  }
}
await point('job finished')
line({ done: n })
