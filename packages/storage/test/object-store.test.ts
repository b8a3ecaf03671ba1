import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { EchoCache, ObjectStore, type Backend, type BlockFault, type BlockRead, type ObjectStoreOptions } from '../src/index.js'
import { BLOCK, STRIPE, bytes, chunks, collect, put, readAll, rig, type Rig } from './store-rig.js'

const rigs: Rig[] = []
after(async () => Promise.all(rigs.map((r) => r.close())))

/** A store over `width` backends; those at indexes `plain` store whole blocks (no segments). */
async function setup(options: Partial<ObjectStoreOptions> = {}, width = 6, plain: readonly number[] = []): Promise<Rig> {
  const r = await rig({ width, whole: plain, store: options })
  rigs.push(r)
  return r
}

async function keysOn(backends: readonly Backend[], prefix: string): Promise<string[]> {
  const keys: string[] = []
  for (const b of backends) for await (const k of b.list(prefix)) keys.push(`${b.id}:${k}`)
  return keys
}

describe('ObjectStore', () => {
  test('round-trips objects of every shape of stripe, fed in odd chunks', async () => {
    const { store } = await setup()
    for (const [n, chunk] of [[0, 1], [1, 1], [STRIPE - 1, 1000], [STRIPE, 7919], [STRIPE * 3 + 12345, 65536], [STRIPE * 5, STRIPE]] as const) {
      const id = `obj-${n}`
      const data = bytes(n, n + 7)
      await store.create(id)
      const result = await store.append(id, chunks(data, chunk))
      assert.deepEqual([result.length, result.appended, result.committed], [n, n, true])
      assert.equal((await store.stat(id))?.length, n)
      assert.ok((await collect(await store.read(id))).equals(data), `object of ${n} bytes`)
    }
  })

  test('successive appends (many small PATCHes) and ranges across stripe and block edges', async () => {
    const { store } = await setup()
    const data = bytes(STRIPE * 2 + 999, 3)
    await store.create('o')
    for (let off = 0; off < data.length; off += 5000) await store.append('o', chunks(data.subarray(off, off + 5000), 1500))
    assert.ok((await collect(await store.read('o'))).equals(data))
    for (const [s, e] of [[0, 1], [BLOCK - 1, BLOCK + 1], [STRIPE - 3, STRIPE + 3], [4999, 5001], [data.length - 1, data.length], [17, 17], [0, data.length]] as const) {
      assert.ok((await collect(await store.read('o', { start: s, end: e }))).equals(data.subarray(s, e)), `range ${s}-${e}`)
    }
    await assert.rejects(store.read('o', { start: 0, end: data.length + 1 }), { code: 'STORAGE_ERR_INVALID_ARGUMENT' })
    await assert.rejects(store.read('nope'), { code: 'STORAGE_ERR_NOT_FOUND' })
  })

  test('atomic append commits only when approved and leaves no blocks otherwise', async () => {
    const { store, faulty } = await setup()
    const data = bytes(STRIPE * 2 + 10)
    await store.create('a')
    const refused = await store.append('a', chunks(data, 4096), { commit: 'atomic', beforeCommit: () => false })
    assert.deepEqual([refused.committed, refused.length, refused.appended], [false, 0, 0])
    assert.deepEqual(await keysOn(faulty, 'a/'), [])
    const approved = await store.append('a', chunks(data, 4096), { commit: 'atomic', beforeCommit: async () => true })
    assert.deepEqual([approved.committed, approved.length], [true, data.length])
    assert.ok((await collect(await store.read('a'))).equals(data))
  })

  test('an aborted or failing source: progressive keeps what arrived, atomic keeps nothing', async () => {
    const { store } = await setup()
    const data = bytes(STRIPE * 3)
    for (const mode of ['progressive', 'atomic'] as const) {
      for (const how of ['abort', 'error'] as const) {
        const id = `${mode}-${how}`
        await store.create(id)
        const stop = new AbortController()
        const sent = STRIPE + 1234
        async function* source(): AsyncGenerator<Uint8Array> {
          yield data.subarray(0, STRIPE)
          yield data.subarray(STRIPE, sent)
          if (how === 'error') throw new Error('connection reset')
          stop.abort()
          await new Promise(() => {}) // a client that stalls after sending
        }
        const result = await store.append(id, source(), { commit: mode, signal: stop.signal })
        assert.equal(result.stopped, how === 'abort' ? 'aborted' : 'source-error')
        const expected = mode === 'progressive' ? sent : 0
        assert.equal(result.length, expected, id)
        assert.ok((await collect(await store.read(id))).equals(data.subarray(0, expected)), id)
      }
    }
  })

  test('a manifest append that failed after it was applied (a timed-out Redis command) deletes nothing it references', async () => {
    // The n-th append of stripes is applied, then reported failed, as a store does when its reply is lost.
    let appends = 0
    let failAt = 2
    const r = await rig({
      width: 6,
      whole: true, // whole blocks: the blocks a failed append would delete are objects of their own (as on S3)
      manifests: (inner) => ({
        get: (id) => inner.get(id),
        update: (id, v, next) => inner.update(id, v, next),
        delete: (id) => inner.delete(id),
        list: () => inner.list(),
        async appendStripes(id, stripes) {
          const v = await inner.appendStripes(id, stripes)
          if (++appends === failAt) throw new Error('reply lost after the command ran')
          return v
        },
      }),
    })
    rigs.push(r)
    const data = bytes(STRIPE * 3, 31)
    for (const mode of ['progressive', 'atomic'] as const) {
      appends = 0
      failAt = mode === 'progressive' ? 2 : 1
      const id = `applied-${mode}`
      await r.store.create(id)
      await assert.rejects(r.store.append(id, chunks(data), { commit: mode }))
      // What the manifest holds is readable: progressive committed stripes 1 and 2, atomic all three.
      const held = mode === 'progressive' ? 2 * STRIPE : 3 * STRIPE
      assert.equal((await r.store.stat(id))?.length, held, mode)
      assert.ok((await readAll(r.store, id)).equals(data.subarray(0, held)), mode)
    }
  })

  test('reads survive any m lost backends and fail cleanly with m+1', async () => {
    const { store, faulty } = await setup()
    const data = bytes(STRIPE * 4 + 77, 9)
    await store.create('d')
    await store.append('d', chunks(data, 10000))
    for (const lost of [[0, 1], [2, 5], [3, 4], [4]]) {
      for (const i of lost) faulty[i]!.setFaults({ gone: true })
      assert.ok((await collect(await store.read('d'))).equals(data), `lost ${lost}`)
      for (const i of lost) faulty[i]!.setFaults({ gone: false })
    }
    for (const i of [0, 1, 2]) faulty[i]!.setFaults({ gone: true })
    await assert.rejects(collect(await store.read('d')), { code: 'STORAGE_ERR_UNRECOVERABLE' })
  })

  test('silently corrupt blocks are detected by checksum, reported, and read around', async () => {
    const { store, faulty } = await setup()
    const data = bytes(STRIPE * 2, 11)
    await store.create('c')
    await store.append('c', chunks(data, 8192))
    faulty[1]!.setFaults({ corruptRate: 1 })
    faulty[4]!.setFaults({ corruptRate: 1 })
    const faults: BlockFault[] = []
    assert.ok((await collect(await store.read('c', { onFault: (f) => faults.push(f) }))).equals(data))
    assert.ok(faults.length > 0 && faults.every((f) => f.kind === 'corrupt' && (f.backend === 'b1' || f.backend === 'b4')))
    faulty[2]!.setFaults({ corruptRate: 1 })
    await assert.rejects(collect(await store.read('c')), { code: 'STORAGE_ERR_UNRECOVERABLE' })
  })

  test('writes route around a dead or stalled backend down to the write quorum', async () => {
    const { store, faulty } = await setup({ blockTimeoutMs: 300 })
    const data = bytes(STRIPE * 2 + 5, 13)
    faulty[0]!.setFaults({ gone: true })
    await store.create('w')
    await store.append('w', chunks(data, 5000))
    faulty[0]!.setFaults({ gone: false })
    faulty[3]!.setFaults({ stallRate: 1, ops: ['put'] })
    await store.append('w', chunks(data, 5000))
    faulty[3]!.setFaults({ stallRate: 0 })
    const stat = await store.stat('w')
    assert.equal(stat?.length, data.length * 2)
    assert.equal(stat?.degradedStripes, stat?.stripes)
    assert.ok((await collect(await store.read('w'))).equals(Buffer.concat([data, data])))
    // Two of six gone: below the quorum of 5, the stripe is refused and nothing half-stored stays.
    faulty[0]!.setFaults({ gone: true })
    faulty[1]!.setFaults({ gone: true })
    await assert.rejects(store.append('w', chunks(data, 5000)), { code: 'STORAGE_ERR_WRITE_QUORUM' })
    assert.equal((await store.stat('w'))?.length, data.length * 2)
  })

  test('spare backends take the blocks a failing backend refuses', async () => {
    const { store, faulty } = await setup({}, 8)
    faulty[2]!.setFaults({ errorRate: 1, ops: ['put'] })
    const data = bytes(STRIPE * 3, 17)
    await store.create('s')
    await store.append('s', chunks(data, 9000))
    assert.equal((await store.stat('s'))?.degradedStripes, 0)
    assert.ok((await collect(await store.read('s'))).equals(data))
  })

  test('concatenation reuses the sources\' blocks, which live until every user is deleted', async () => {
    const { store, faulty } = await setup()
    const a = bytes(STRIPE + 100, 21)
    const b = bytes(777, 22)
    for (const [id, d] of [['pa', a], ['pb', b]] as const) {
      await store.create(id)
      await store.append(id, chunks(d, 4000))
    }
    const blocksBefore = (await keysOn(faulty, '')).length
    await store.concat('final', ['pa', 'pb', 'pa'])
    assert.equal((await keysOn(faulty, '')).length, blocksBefore, 'no block copied')
    const expected = Buffer.concat([a, b, a])
    assert.ok((await collect(await store.read('final'))).equals(expected))
    assert.ok((await collect(await store.read('final', { start: a.length - 5, end: a.length + 800 }))).equals(expected.subarray(a.length - 5, a.length + 800)))
    await store.delete('pa')
    assert.equal(await store.stat('pa'), undefined)
    assert.ok((await collect(await store.read('final'))).equals(expected), 'a deleted source stays readable through the final')
    await store.delete('final')
    assert.deepEqual(await keysOn(faulty, 'pa/'), [], 'last user gone: blocks purged')
    assert.ok((await keysOn(faulty, 'pb/')).length > 0, 'a live source keeps its blocks')
    await assert.rejects(store.concat('bad', ['nope']), { code: 'STORAGE_ERR_NOT_FOUND' })
  })

  test('invalid ids and options are refused with stable codes', async () => {
    const { store, faulty, manifests } = await setup()
    for (const id of ['../x', 'a/b', '', '.', 'a b']) await assert.rejects(store.create(id), { code: 'STORAGE_ERR_INVALID_KEY' }, id)
    await assert.rejects(ObjectStore.open({ backends: faulty.slice(0, 5), manifests }), (err: Error & { code?: string }) => err.code === 'STORAGE_ERR_INVALID_ARGUMENT' && /backends/.test(err.message))
    await assert.rejects(ObjectStore.open({ backends: faulty, manifests, blockBytes: 100 }), /blockBytes/)
    await store.create('dup')
    await assert.rejects(store.create('dup'), { code: 'STORAGE_ERR_CONFLICT' })
  })

  test('blocks are packed into one segment per backend per append, and purged with the object', async () => {
    const { store, faulty } = await setup()
    const data = bytes(STRIPE * 6 + 3, 23)
    await store.create('p')
    await store.append('p', chunks(data, 9000))
    await store.append('p', chunks(data, 9000))
    const keys = await keysOn(faulty, 'p/')
    assert.equal(keys.length, 6 * 2, `one segment per backend per append: ${keys.join(' ')}`)
    assert.ok((await collect(await store.read('p'))).equals(Buffer.concat([data, data])))
    await store.delete('p')
    assert.deepEqual(await keysOn(faulty, 'p/'), [])
  })

  test('a backend without segments gets whole blocks, side by side with segment backends', async () => {
    const { store, faulty } = await setup({}, 6, [2])
    const data = bytes(STRIPE * 3, 29)
    await store.create('m')
    await store.append('m', chunks(data, 7000))
    assert.ok((await keysOn([faulty[2]!], 'm/')).length >= 3, 'whole blocks on the plain backend')
    faulty[0]!.setFaults({ gone: true })
    faulty[5]!.setFaults({ gone: true })
    assert.ok((await collect(await store.read('m'))).equals(data))
  })

  test('bytes are the same whatever the chunking: sha256 over a larger object', async () => {
    const { store } = await setup({ blockBytes: 64 * 1024 })
    const data = bytes(5 * 1024 * 1024 + 3, 5)
    await store.create('big')
    await store.append('big', chunks(data, 65536 + 13))
    const digest = createHash('sha256')
    for await (const c of await store.read('big')) digest.update(c)
    assert.equal(digest.digest('hex'), createHash('sha256').update(data).digest('hex'))
  })
})

test('onBlockRead is told of every block read started on a backend, not of echo hits', async () => {
  const echoes = new EchoCache({ maxBytes: 1 << 20, doorkeeperEntries: 0 })
  const reads: BlockRead[] = []
  const r = await rig({ store: { echoes, onBlockRead: (read) => reads.push(read) } })
  try {
    const data = bytes(2 * STRIPE, 71)
    await put(r.store, 'obj', data)
    assert.deepEqual(await collect(await r.store.read('obj', { echoes: true })), data)
    const manifest = (await r.manifests.get('obj'))!
    const expected = manifest.stripes.flatMap((s, si) => s.blocks.slice(0, 4).map((b, i) => `${si}.${i}@${b!.backend}`)).sort()
    assert.deepEqual(reads.map((x) => `${x.stripe}.${x.block}@${x.backend}`).sort(), expected)
    assert.ok(reads.every((x) => x.objectId === 'obj'))
    reads.length = 0
    assert.deepEqual(await collect(await r.store.read('obj', { echoes: true })), data)
    assert.deepEqual(reads, [], 'a second read is served from memory')
  } finally {
    await r.close()
  }
})
