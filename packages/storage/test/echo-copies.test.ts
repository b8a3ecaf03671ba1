import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { EchoCache, FileEchoMap, ObjectStore, type ObjectStoreOptions } from '../src/index.js'
import { BLOCK, STRIPE, bytes, collect, put, rig, type Rig } from './store-rig.js'

const rigs: Rig[] = []
after(async () => Promise.all(rigs.map((r) => r.close())))

/** A store over the rig's backends with echoes (every block cached at its first read) and one echo copy per hot block. */
async function open(r: Rig, extra: Partial<ObjectStoreOptions> = {}): Promise<ObjectStore> {
  const map = await FileEchoMap.open({ dir: join(r.root, 'echoes') })
  return ObjectStore.open({ backends: r.faulty, manifests: r.manifests, dataBlocks: 4, parityBlocks: 2, blockBytes: BLOCK, blockTimeoutMs: 60_000, echoes: new EchoCache({ maxBytes: 1 << 20, doorkeeperEntries: 0 }), echoCopies: { map, copies: 1 }, ...extra })
}

const read = async (store: ObjectStore, id: string): Promise<Buffer> => collect(await store.read(id, { echoes: true }))

async function copiesMade(store: ObjectStore, n: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; store.readStats().echoCopies!.made < n; ) {
    assert.ok(Date.now() < deadline, `copies made: ${JSON.stringify(store.readStats().echoCopies)}`) // a hang guard
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('echo copies on other backends', () => {
  test('hot blocks are copied to another backend; after a restart a slow backend’s blocks are read from their copies; delete takes them all', async () => {
    const r = await rig({ width: 6 })
    rigs.push(r)
    const data = bytes(STRIPE * 8, 41)
    await put(r.store, 'h', data)
    const first = await open(r)
    // Read until every data block has its copy: a read from memory also offers a block to the copier, whose queue is bounded.
    for (let i = 0; i < 4 && first.readStats().echoCopies!.made < 32; i++) {
      assert.ok((await read(first, 'h')).equals(data))
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    await copiesMade(first, 32) // 8 stripes × 4 data blocks
    assert.deepEqual(await readdir(join(r.root, 'echoes')), ['h.echoes'])

    // A restart: a fresh store (empty memory) finds the copies in the echo map.
    const manifest = (await r.manifests.get('h'))!
    const slow = r.faulty.find((b) => b.id === manifest.stripes[0]!.blocks[0]!.backend)!
    slow.setFaults({ latencyMs: 300, ops: ['read'] })
    const second = await open(r, { hedge: { initialMs: 20 } })
    assert.equal(second.readStats().echoCopies!.held, 32)
    assert.ok((await read(second, 'h')).equals(data))
    const s = second.readStats()
    assert.ok(s.echoCopies!.reads > 0, `blocks of the slowed backend read from their copies: ${JSON.stringify(s.echoCopies)}`)

    await second.delete('h')
    assert.deepEqual(await readdir(join(r.root, 'echoes')), [])
    assert.equal(second.readStats().echoCopies!.held, 0)
    for (const b of r.fs) for await (const key of b.list('h/')) assert.fail(`left behind: ${b.id}:${key}`)
  })
})
