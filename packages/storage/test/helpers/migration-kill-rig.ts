// Test helper (not a test file) of the migration kill tests (`migration-kill-*.test.ts`): runs
// helpers/migration-child.ts as a real process, SIGKILLs it at a numbered point, and checks what
// the store over the same directories holds afterwards.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { ScrubLedger, scrub, type ObjectStore, type ScrubFault, type ScrubReport } from '../../src/index.js'
import { OBJECTS, expectedDigests, openStore } from './migration-fixture.js'

const CHILD = fileURLToPath(new URL('./migration-child.ts', import.meta.url))
const PKG = fileURLToPath(new URL('../..', import.meta.url))
export const EXPECTED = expectedDigests()

export interface PointLine {
  readonly point: number
  readonly step: string
  readonly label: string
}
export interface ChildRun {
  readonly lines: readonly Record<string, unknown>[]
  /** The point the child stopped at (and was killed at), or undefined when it ran to the end. */
  readonly stopped: PointLine | undefined
}

/** Runs the child over `root`; with `killAt` > 0, SIGKILLs it once it reports that point. */
export async function runChild(root: string, job: 'one' | 'drain' | 'regen', killAt: number): Promise<ChildRun> {
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

export const points = (run: ChildRun): PointLine[] => run.lines.filter((l): l is PointLine & Record<string, unknown> => typeof l.point === 'number') as PointLine[]

/**
 * Every object byte-identical, and every block the manifests reference present and intact — but
 * for the `known` bad blocks (a block the test corrupted on purpose and no repair has replaced yet).
 */
export async function assertIntact(store: ObjectStore, where: string, known: readonly Pick<ScrubFault, 'objectId' | 'stripe' | 'block' | 'problem'>[] = []): Promise<void> {
  for (const o of OBJECTS) {
    const hash = createHash('sha256')
    for await (const chunk of await store.read(o.id)) hash.update(chunk)
    assert.equal(hash.digest('hex'), EXPECTED.get(o.id), `${o.id} ${where}`)
  }
  const stripes = (await Promise.all(OBJECTS.map(async (o) => (await store.options.manifests.get(o.id))!.stripes.length))).reduce((a, b) => a + b, 0)
  const report = await scrubOnly(store)
  assert.equal(report.verified, stripes, where)
  assert.deepEqual(
    report.faults.map(({ objectId, stripe, block, problem }) => ({ objectId, stripe, block, problem })),
    known,
    `referenced blocks missing or corrupt ${where}`,
  )
}

/** A scrub pass over every stripe that only reports (repairs nothing). */
export const scrubOnly = (store: ObjectStore): Promise<ScrubReport> => scrub(store, { ledger: ScrubLedger.memory(), limit: 10_000, repair: false })

/** Whether backend `id` of `store` holds `key` (through the backend's own `stat`). */
export async function holds(store: ObjectStore, id: string, key: string): Promise<boolean> {
  return (await store.options.backends.find((b) => b.id === id)!.stat(key)) !== undefined
}

/** Every file under `dir` (recursively), as paths relative to it; [] when it does not exist. */
export async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  const out: string[] = []
  for (const e of entries) {
    if (e.isDirectory()) out.push(...(await filesUnder(join(dir, e.name), `${prefix}${e.name}/`)))
    else out.push(`${prefix}${e.name}`)
  }
  return out
}

/**
 * Deletes every object through a freshly opened store and checks no block file is left in any
 * backend directory: leftovers of the killed run (an unreferenced copy, an old block kept by a kill
 * between commit and cleanup, a half-written temp file) all go with their object.
 */
export async function assertNothingLeftAfterDelete(root: string, where: string): Promise<void> {
  const store = await openStore(root)
  for (const o of OBJECTS) await store.delete(o.id)
  for (let i = 0; i < 7; i++) assert.deepEqual(await filesUnder(join(root, `b${i}`)), [], `files left in b${i} ${where}`)
}

/** A point as the dry run and a later run can both have it: block keys carry random suffixes. */
export const same = (p: PointLine): PointLine => ({ ...p, label: p.label.replace(/ [^ ]+\/[^ :]+/g, ' <key>') })

