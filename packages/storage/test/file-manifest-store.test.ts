import assert from 'node:assert/strict'
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { FileManifestStore } from '../src/index.js'
import { describeManifestStore, stripeRecord as stripe } from '../src/testing/index.js'

const dirs: string[] = []
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function open() {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-mf-'))
  dirs.push(dir)
  return { dir, store: await FileManifestStore.open({ dir }) }
}

// The port's behaviour, shared with RedisManifestStore (@tessera/cluster).
describeManifestStore('FileManifestStore', open)
describeManifestStore('FileManifestStore, fsync always', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-mf-'))
  dirs.push(dir)
  return { store: await FileManifestStore.open({ dir, fsync: 'always' }) }
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

test('a reopened store reads what another instance wrote (appends and updates)', async () => {
  const { dir, store } = await open()
  await store.update('r', 0, { stripes: [stripe(1)], sources: [], referrers: ['x'], deleted: false })
  await store.appendStripes('r', [stripe(2)])
  const reopened = await FileManifestStore.open({ dir })
  assert.deepEqual(await reopened.get('r'), { version: 2, stripes: [stripe(1), stripe(2)], sources: [], referrers: ['x'], deleted: false })
})
