// Upload.cancel() against the real gateway: what @uppy/tus does when a file is removed — the upload
// stops, every partial the gateway holds for it is terminated, and its resume state is deleted, so
// a later run starts afresh.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { ClientError, upload, type StateStore } from '../src/index.js'
import { bytes, startGateway, type Gateway } from './helpers.js'

const MiB = 1024 * 1024

/** A StateStore in memory, to see what the upload leaves in it. */
class MemoryStateStore implements StateStore {
  readonly items = new Map<string, unknown>()
  async get(key: string): Promise<unknown> {
    return this.items.get(key)
  }
  async set(key: string, value: unknown): Promise<void> {
    this.items.set(key, structuredClone(value))
  }
  async delete(key: string): Promise<void> {
    this.items.delete(key)
  }
}

let gw: Gateway
before(async () => {
  gw = await startGateway()
})
after(() => gw.stop())

const options = (stateStore: StateStore) => ({ endpoints: [gw.url], stateStore, minPartitionBytes: MiB, initialPartitionBytes: MiB, maxPartitionBytes: MiB, maxConcurrency: 1, initialConcurrency: 1, hedging: false })

test('cancel(): done rejects CLIENT_ERR_ABORTED, the partials made are gone (410), the resume state is deleted; a re-run starts afresh', async () => {
  const data = bytes(8 * MiB, 81)
  const store = new MemoryStateStore()
  const u = upload(data, options(store))
  const won: string[] = []
  u.on('attempt-won', (e) => {
    won.push(e.url)
    if (won.length === 2) void u.cancel()
  })
  await assert.rejects(u.done, (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_ABORTED')
  await u.cancel()
  assert.equal(won.length, 2)
  for (const url of won) assert.equal((await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })).status, 410, `${url} was terminated`)
  assert.deepEqual([...store.items.keys()], [], 'no resume state is left')

  const again = upload(data, options(store))
  let resumed = false
  again.on('resume', () => (resumed = true))
  await again.done
  assert.equal(resumed, false, 'the next run starts afresh')
})

test('abort() by contrast keeps both: the partials stay and the next run resumes them', async () => {
  const data = bytes(4 * MiB, 82)
  const store = new MemoryStateStore()
  const u = upload(data, options(store))
  u.on('attempt-won', () => u.abort())
  await assert.rejects(u.done, (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_ABORTED')
  assert.equal(store.items.size, 1)
  const again = upload(data, options(store))
  let resumed = false
  again.on('resume', () => (resumed = true))
  await again.done
  assert.equal(resumed, true)
})
