// Faults against the real gateway: a stalling TCP proxy, a 4xx, an unreachable endpoint, a short
// source, abort + resume.
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { ClientError, FileStateStore, upload, type UploadOptions } from '../src/index.js'
import { bytes, download, sha256, startGateway, tempDir, type Gateway } from './helpers.js'
import { countingTransport, faultProxy } from './helpers/fault-proxy.js'

const MiB = 1024 * 1024

describe('faults', () => {
  let gw: Gateway
  let tmp: Awaited<ReturnType<typeof tempDir>>
  before(async () => {
    gw = await startGateway()
    tmp = await tempDir()
  })
  after(async () => {
    await gw.stop()
    await tmp.remove()
  })

  test('a connection that stalls mid-body is detected within stallTimeoutMs, retried, and the upload completes identical', async () => {
    const proxy = await faultProxy(gw.port, { stallPatchAfterBytes: 1 * MiB })
    try {
      const data = bytes(6 * MiB, 21)
      const u = upload(data, { endpoints: [proxy.url], stateStore: null, stallTimeoutMs: 1000, retryDelaysMs: [50, 100, 200], hedging: false })
      const stalls: number[] = []
      const failed: string[] = []
      u.on('stall', (e) => stalls.push(e.partition))
      u.on('attempt-failed', (e) => failed.push(e.code))
      const result = await u.done
      assert.ok(proxy.faulted())
      assert.equal(stalls.length, 1)
      assert.deepEqual(failed, ['CLIENT_ERR_STALLED'])
      assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
      assert.deepEqual(await download(`${gw.url}/${result.url.split('/').pop()}`), { sha256: sha256(data), size: data.length })
    } finally {
      await proxy.close()
    }
  })

  test('a 4xx from the server is a ClientError with status and wire code, not retried', async () => {
    const small = await startGateway(['--max-size', '1000'])
    try {
      const u = upload(bytes(5000), { endpoints: [small.url], stateStore: null })
      const failed: boolean[] = []
      u.on('attempt-failed', (e) => failed.push(e.willRetry))
      await assert.rejects(u.done, (err: unknown) => {
        assert.ok(err instanceof ClientError)
        assert.equal(err.code, 'CLIENT_ERR_SERVER_REJECTED')
        assert.equal(err.status, 413)
        assert.equal(err.wireCode, 'TESSERA_ERR_TOO_LARGE')
        return true
      })
      assert.deepEqual(failed, [false])
    } finally {
      await small.stop()
    }
  })

  test('an unreachable endpoint gives CLIENT_ERR_UNREACHABLE after its retries', { timeout: 10_000 }, async () => {
    const closed = net.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as net.AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const u = upload(bytes(10), { endpoints: [`http://127.0.0.1:${port}/files`], stateStore: null, retryDelaysMs: [10, 20] })
    await assert.rejects(u.done, (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_UNREACHABLE')
  })

  test('one unreachable endpoint of two is left out; the upload completes on the other', async () => {
    const data = bytes(3 * MiB, 22)
    const u = upload(data, { endpoints: ['http://127.0.0.1:9/files', gw.url], stateStore: null, retryDelaysMs: [10] })
    const result = await u.done
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
  })

  test('a source shorter than declared gives CLIENT_ERR_SOURCE_SHORT and no final upload', async () => {
    const data = bytes(3 * MiB, 23)
    const counting = countingTransport()
    const u = upload(Readable.from([data]), { endpoints: [gw.url], stateStore: null, size: 6 * MiB, minPartitionBytes: MiB, initialPartitionBytes: MiB, transport: counting.transport })
    await assert.rejects(u.done, (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_SOURCE_SHORT')
    await counting.transport.close()
    assert.ok(!counting.requests.some((r) => r.headers['upload-concat']?.startsWith('final')), 'no final upload was requested')
  })

  test('abort midway, re-run: finished partitions are not re-sent and no acknowledged byte is sent again', async () => {
    const data = bytes(24 * MiB, 24)
    const path = join(tmp.dir, 'resume.bin')
    await writeFile(path, data)
    const stateStore = new FileStateStore(join(tmp.dir, 'state'))
    // Hedging off: this counts re-sent bytes, and hedges send deliberate duplicates (hedging.test.ts).
    const base: UploadOptions = { endpoints: [gw.url], stateStore, hedging: false, chunkBytes: MiB, minPartitionBytes: MiB, initialPartitionBytes: 2 * MiB, maxPartitionBytes: 4 * MiB, initialConcurrency: 2 }

    const first = countingTransport()
    const u1 = upload(path, { ...base, transport: first.transport })
    u1.on('progress', (e) => {
      if (e.bytesAcked >= data.length / 2) u1.abort()
    })
    await assert.rejects(u1.done, (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_ABORTED')
    await first.transport.close()
    const acked = u1.bytesAcked
    assert.ok(acked >= data.length / 2 && acked < data.length)

    const second = countingTransport()
    const u2 = upload(path, { ...base, transport: second.transport })
    const resumed: { partitionsDone: number }[] = []
    u2.on('resume', (e) => resumed.push(e))
    const result = await u2.done
    await second.transport.close()
    assert.equal(resumed.length, 1)
    assert.ok(resumed[0]!.partitionsDone > 0)
    assert.ok(second.patched() <= data.length - acked, `re-sent ${second.patched()} > ${data.length - acked} unacknowledged bytes`)
    assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
    assert.deepEqual((await readdir(stateStore.dir)).filter((f) => f.endsWith('.json')), [], 'the state is removed on success')
  })
})
