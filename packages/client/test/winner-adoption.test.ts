// A winner the client does not know: the gateway answers 410 TESSERA_ERR_SUPERSEDED naming an
// attempt this run never ran (an earlier run finished it but its state was not saved; another
// process of the session sent it). The client HEADs it, adopts it, lists it in the final — and
// never re-creates the partition in a loop. Real gateway child process, real sockets.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { ClientError, upload, type StateStore, type UploadOptions } from '../src/index.js'
import { bytes, download, sha256, startGateway, type Gateway } from './helpers.js'
import { recordEvents, type Recorded } from './helpers/events.js'

const MiB = 1024 * 1024

/** A state store in memory that keeps every document written (the rollback test picks an old one). */
function memoryStore(initial?: unknown): StateStore & { history: unknown[]; current: () => unknown } {
  let doc: unknown = initial
  const history: unknown[] = []
  return {
    history,
    current: () => doc,
    get: async () => (doc === undefined ? undefined : structuredClone(doc)),
    set: async (_key, value) => {
      doc = structuredClone(value)
      history.push(doc)
    },
    delete: async () => {
      doc = undefined
    },
  }
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')
const digestBase64 = (data: Uint8Array): string => createHash('sha256').update(data).digest('base64')

/** A stock tus POST + PATCH of one whole attempt of `partition`, as another process would send it; resolves its URL. */
async function rawAttempt(endpoint: string, partition: string, offset: number, body: Uint8Array): Promise<string> {
  const metadata = [`tessera-partition ${b64(partition)}`, `tessera-offset ${b64(String(offset))}`, `tessera-attempt ${b64('9')}`, `tessera-sha256 ${b64(digestBase64(body))}`].join(',')
  const created = await fetch(endpoint, {
    method: 'POST',
    headers: { 'tus-resumable': '1.0.0', 'upload-length': String(body.length), 'upload-concat': 'partial', 'upload-metadata': metadata },
  })
  assert.equal(created.status, 201)
  const url = new URL(created.headers.get('location')!, endpoint).href
  const patched = await fetch(url, {
    method: 'PATCH',
    headers: { 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    body: new Uint8Array(body),
  })
  assert.equal(patched.status, 204)
  assert.equal(patched.headers.get('upload-offset'), String(body.length))
  return url
}

/** Attempts the client made at partition `index`: started ones plus resumes whose HEAD failed. */
function attemptsAt(ev: Recorded, index: number): number {
  const numbers = new Set<number>()
  for (const e of [...ev['attempt-start'], ...ev['attempt-failed'], ...ev['attempt-lost']]) if (e.partition === index) numbers.add(e.attempt)
  for (const e of ev['winner-adopted']) if (e.partition === index) numbers.delete(e.attempt)
  return numbers.size
}

describe('adopting a winner the client does not know', () => {
  let gw: Gateway
  before(async () => {
    gw = await startGateway()
  })
  after(async () => {
    await gw.stop()
  })
  const base = (extra: Partial<UploadOptions>): UploadOptions => ({
    endpoints: [gw.url],
    hedging: false,
    minPartitionBytes: 2 * MiB,
    initialPartitionBytes: 2 * MiB,
    maxPartitionBytes: 2 * MiB,
    chunkBytes: 512 * 1024,
    retryDelaysMs: [20, 20, 20, 20],
    ...extra,
  })

  test('the resume state is rolled back to before partition 0 was recorded: the re-run is told the winner, adopts it, completes identical', { timeout: 30_000 }, async () => {
    const data = bytes(6 * MiB, 71)
    const store = memoryStore()
    // Run 1: stop as soon as partition 0 has won (the server decided), like a crash.
    const first = upload(data, base({ stateStore: store, initialConcurrency: 1, maxConcurrency: 1 }))
    let winnerUrl: string | undefined
    first.on('attempt-won', (e) => {
      if (e.partition !== 0) return
      winnerUrl = e.url
      first.abort()
    })
    await assert.rejects(first.done, (err: ClientError) => err.code === 'CLIENT_ERR_ABORTED')
    assert.ok(winnerUrl)
    // Roll the state back to the first document that has partition 0 but not its URL.
    const old = store.history.find((d) => {
      const parts = (d as { partitions: { url?: string }[] }).partitions
      return parts.length > 0 && parts[0]!.url === undefined
    })
    assert.ok(old, 'a state written before partition 0 was created')
    await store.set('rolled-back', old)

    const second = upload(data, base({ stateStore: store }))
    const ev = recordEvents(second)
    const result = await second.done
    const adopted = ev['winner-adopted'].filter((e) => e.partition === 0)
    assert.equal(adopted.length, 1, JSON.stringify(ev['winner-adopted']))
    assert.equal(new URL(adopted[0]!.url).pathname, new URL(winnerUrl).pathname)
    assert.equal(adopted[0]!.bytes, 2 * MiB)
    const won = ev['attempt-won'].find((e) => e.partition === 0)!
    assert.equal(new URL(won.url).pathname, new URL(winnerUrl).pathname)
    // No loop: one new attempt was told the winner (two if the 410 broke its socket and a HEAD told it).
    assert.ok(attemptsAt(ev, 0) <= 2, `attempts at partition 0: ${attemptsAt(ev, 0)}`)
    assert.equal(ev['attempt-failed'].filter((e) => e.partition === 0 && e.code !== 'CLIENT_ERR_NETWORK').length, 0, JSON.stringify(ev['attempt-failed']))
    // The winner was never DELETEd (it is in the final).
    assert.ok(!ev['attempt-terminated'].some((e) => new URL(e.url).pathname === new URL(winnerUrl!).pathname))
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
    assert.equal(store.current(), undefined, 'the state is removed on success')
  })

  /** A resume state of a run that cut partition 0 (2 MiB) and recorded nothing else. */
  function stateWithPartition0(data: Buffer, sessionId: string): unknown {
    return {
      version: 1,
      fingerprint: 'winner-adoption',
      sessionId,
      size: data.length,
      mode: 'parallel',
      endpoints: [gw.url],
      partitions: [{ index: 0, offset: 0, length: 2 * MiB, url: undefined, sha256: digestBase64(data.subarray(0, 2 * MiB)), acked: 0, done: false }],
      updatedAt: new Date().toISOString(),
    }
  }

  test('another process of the session completed partition 0 first (raw tus POST + PATCH): adopted, listed in the final, identical', { timeout: 30_000 }, async () => {
    const data = bytes(5 * MiB, 72)
    const sessionId = `adopt-${Date.now()}`
    const foreign = await rawAttempt(gw.url, `${sessionId}/0`, 0, data.subarray(0, 2 * MiB))
    const u = upload(data, base({ stateStore: memoryStore(stateWithPartition0(data, sessionId)), fingerprint: 'winner-adoption' }))
    const ev = recordEvents(u)
    const result = await u.done
    const adopted = ev['winner-adopted'].filter((e) => e.partition === 0)
    assert.equal(adopted.length, 1)
    assert.equal(adopted[0]!.url, foreign)
    assert.ok(attemptsAt(ev, 0) <= 2, `attempts at partition 0: ${attemptsAt(ev, 0)}`)
    assert.equal(ev['winner-adopted'].length, 1, 'other partitions won normally')
    assert.ok(!ev['attempt-terminated'].some((e) => e.url === foreign))
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
  })

  test('the named winner holds other bytes (its SHA-256 differs): CLIENT_ERR_WINNER_INVALID at once, no loop', { timeout: 30_000 }, async () => {
    const data = bytes(4 * MiB, 73)
    const sessionId = `adopt-bad-${Date.now()}`
    const other = bytes(2 * MiB, 74)
    await rawAttempt(gw.url, `${sessionId}/0`, 0, other)
    const u = upload(data, base({ stateStore: memoryStore(stateWithPartition0(data, sessionId)), fingerprint: 'winner-adoption' }))
    const ev = recordEvents(u)
    await assert.rejects(u.done, (err: unknown) => {
      assert.ok(err instanceof ClientError)
      assert.equal(err.code, 'CLIENT_ERR_WINNER_INVALID')
      return true
    })
    assert.equal(ev['winner-adopted'].length, 0)
    assert.ok(attemptsAt(ev, 0) <= 2, `attempts at partition 0: ${attemptsAt(ev, 0)}`)
  })
})
