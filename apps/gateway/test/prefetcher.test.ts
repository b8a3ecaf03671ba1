// The prefetcher over a real store (FsBackends in a temp dir) and a real echo cache: what it
// prefetches after it learned A → B, and how prefetches that are never read throttle it.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { EchoCache, FileManifestStore, FsBackend, ObjectStore, silentLogger } from '@tessera/storage'
import { Prefetcher } from '../src/read/prefetcher.js'

const roots: string[] = []
after(async () => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))))

async function setup(objects: string[]): Promise<{ store: ObjectStore; echoes: EchoCache; prefetcher: Prefetcher }> {
  const root = await mkdtemp(join(tmpdir(), 'tessera-prefetch-'))
  roots.push(root)
  const backends = await Promise.all(Array.from({ length: 6 }, (_, i) => FsBackend.open({ id: `b${i}`, root: join(root, `b${i}`) })))
  const echoes = new EchoCache({ maxBytes: 1 << 20 })
  const store = await ObjectStore.open({ backends, manifests: await FileManifestStore.open({ dir: join(root, 'meta') }), blockBytes: 4096, echoes })
  for (const id of objects) {
    await store.create(id)
    await store.append(id, (async function* () {
      yield randomBytes(4 * 4096) // one stripe of four distinct blocks
    })())
  }
  let clock = 0
  const prefetcher = new Prefetcher(store, echoes, { threshold: 0.4, stripes: 1, now: () => (clock += 1000), log: silentLogger })
  return { store, echoes, prefetcher }
}

const plan = { firstStripe: 0, lastStripe: 0, stripes: 1 }

describe('Prefetcher', () => {
  test('after a session read A then B, reading A prefetches B into the echoes; reading B uses it', async () => {
    const { store, echoes, prefetcher } = await setup(['a', 'b'])
    prefetcher.observe('s1', 'a', plan)
    prefetcher.observe('s1', 'b', plan)
    assert.equal(prefetcher.stats().issued, 0, 'one transition seen, from A; none predicted from B')
    prefetcher.observe('s2', 'a', plan)
    await prefetcher.settled()
    assert.deepEqual([prefetcher.stats().issued, echoes.stats().prefetched], [1, 4])
    await store.read('b', { echoes: true }).then(async (it) => {
      for await (const _ of it);
    })
    assert.deepEqual([echoes.stats().prefetchUsed, echoes.stats().prefetchPrecision], [4, 1])
  })

  test('prefetches that are never read lower the recent precision until only one prediction in ten is prefetched', async () => {
    const pairs = Array.from({ length: 40 }, (_, i) => [`a${i}`, `b${i}`] as const)
    const { store, echoes, prefetcher } = await setup(pairs.flat())
    for (const [a, b] of pairs) {
      prefetcher.observe(`train-${a}`, a, plan)
      prefetcher.observe(`train-${a}`, b, plan)
    }
    // Readers that read A and never B: every prefetched B is wasted once B goes.
    for (const [a, b] of pairs) {
      prefetcher.observe(`reader-${a}`, a, plan)
      await prefetcher.settled()
      await store.delete(b)
    }
    const p = prefetcher.stats()
    const e = echoes.stats()
    assert.equal(e.prefetchUsed, 0)
    assert.ok(e.prefetchWasted > 0 && e.prefetchWasted === e.prefetched, 'every prefetched block was dropped unread')
    assert.ok(p.recentPrecision < 0.3, `recent precision ${p.recentPrecision}`)
    assert.equal(p.predicted, 40)
    assert.ok(p.throttled >= 20 && p.issued <= 20, `issued ${p.issued}, throttled ${p.throttled}`)
  })
})
