import assert from 'node:assert/strict'
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { FileManifestStore, type StripeRecord } from '../src/index.js'

const dirs: string[] = []
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

const stripe = (bytes: number): StripeRecord => ({ bytes, blockBytes: 64, dataBlocks: 1, parityBlocks: 0, blocks: [{ backend: 'b', key: `k/${bytes}`, checksum: '0'.repeat(16) }] })

async function open() {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-mf-'))
  dirs.push(dir)
  return { dir, store: await FileManifestStore.open({ dir }) }
}

test('appends are versioned and read back in order', async () => {
  const { store } = await open()
  assert.equal(await store.get('m'), undefined)
  await store.update('m', 0, { stripes: [], sources: [], referrers: [], deleted: false })
  assert.equal(await store.appendStripes('m', [stripe(1)]), 2)
  assert.equal(await store.appendStripes('m', [stripe(2), stripe(3)]), 3)
  const m = await store.get('m')
  assert.deepEqual(m?.stripes.map((s) => s.bytes), [1, 2, 3])
  assert.equal(m?.version, 3)
})

test('a line torn by a power cut is ignored, then truncated before the next append', async () => {
  const { dir, store } = await open()
  await store.appendStripes('t', [stripe(1)])
  await appendFile(join(dir, 't.manifest'), '{"append":[{"bytes":99')
  assert.deepEqual((await store.get('t'))?.stripes.map((s) => s.bytes), [1])
  const reopened = await FileManifestStore.open({ dir })
  await reopened.appendStripes('t', [stripe(2)])
  assert.deepEqual((await reopened.get('t'))?.stripes.map((s) => s.bytes), [1, 2])
  assert.ok((await readFile(join(dir, 't.manifest'), 'utf8')).endsWith('\n'))
})

test('conditional updates refuse a stale version', async () => {
  const { store } = await open()
  await store.update('c', 0, { stripes: [], sources: [], referrers: [], deleted: false })
  await assert.rejects(store.update('c', 0, { stripes: [], sources: [], referrers: [], deleted: false }), { code: 'STORAGE_ERR_CONFLICT' })
  const m = await store.update('c', 1, { stripes: [stripe(5)], sources: [], referrers: ['x'], deleted: false })
  assert.equal(m.version, 2)
  const ids: string[] = []
  for await (const id of store.list()) ids.push(id)
  assert.deepEqual(ids, ['c'])
  await store.delete('c')
  await store.delete('c')
  assert.equal(await store.get('c'), undefined)
})

test('concurrent appends to one manifest serialize without losing a stripe', async () => {
  const { store } = await open()
  await Promise.all(Array.from({ length: 50 }, (_, i) => store.appendStripes('p', [stripe(i + 1)])))
  const m = await store.get('p')
  assert.equal(m?.stripes.length, 50)
  assert.deepEqual(new Set(m?.stripes.map((s) => s.bytes)).size, 50)
})
