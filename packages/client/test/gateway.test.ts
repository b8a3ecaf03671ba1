// End to end against the real Tessera gateway (child process): parallel partials + final concatenation.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { TesseraMetadataKey, parseMetadata } from '@tessera/protocol'
import { bytesSource, upload, type RandomAccessSource, type UploadOptions, type UploadResult, type Upload } from '../src/index.js'
import { bytes, download, partitionsDigest, sha256, startGateway, tempDir, type Gateway } from './helpers.js'
import { countingTransport } from './helpers/fault-proxy.js'

const MiB = 1024 * 1024

describe('upload to the Tessera gateway', () => {
  let gw: Gateway
  let tmp: Awaited<ReturnType<typeof tempDir>>
  let endpoints: string[]
  before(async () => {
    gw = await startGateway()
    tmp = await tempDir()
    // One gateway reached through two URLs: partitions spread over both, the final lists both.
    endpoints = [gw.url, gw.url.replace('127.0.0.1', 'localhost')]
  })
  after(async () => {
    await gw.stop()
    await tmp.remove()
  })

  async function check(u: Upload, data: Buffer): Promise<UploadResult> {
    const result = await u.done
    assert.equal(result.size, data.length)
    const got = await download(result.url)
    assert.deepEqual(got, { sha256: sha256(data), size: data.length })
    return result
  }

  const options = (extra: Partial<UploadOptions> = {}): UploadOptions => ({ endpoints, stateStore: null, metadata: { filename: 'f.bin' }, ...extra })

  for (const size of [0, 1, 5 * MiB]) {
    test(`${size} B from a Buffer`, async () => {
      const data = bytes(size, size + 7)
      const u = upload(data, options())
      const modes: string[] = []
      u.on('capabilities', (e) => modes.push(e.mode))
      await check(u, data)
      assert.deepEqual(modes, ['parallel', 'parallel'])
    })
  }

  for (const sendsTrailers of [true, false]) {
    test(`16 MiB, partitions that may be split: each is a POST and one PATCH${sendsTrailers ? ' whose trailers declare its length and digest' : ', then an empty length-declaring PATCH (a transport without trailers)'}`, async () => {
      const data = bytes(16 * MiB, 16)
      const counting = countingTransport({ sendsTrailers })
      const u = upload(data, options({ transport: counting.transport, minPartitionBytes: MiB, initialPartitionBytes: 4 * MiB }))
      let partitions = 0
      const digests = new Map<number, string>()
      u.on('partition', (e) => {
        partitions += 1
        digests.set(e.offset, createHash('sha256').update(data.subarray(e.offset, e.offset + e.length)).digest('base64'))
      })
      await check(u, data)
      assert.ok(partitions >= 2, `${partitions} partitions`)
      const patches = counting.requests.filter((r) => r.method === 'PATCH')
      const posts = counting.requests.filter((r) => r.method === 'POST')
      assert.equal(posts.length, partitions + 1, 'one POST per partition and the final')
      assert.ok(posts.slice(0, -1).every((r) => r.headers['upload-defer-length'] === '1'), 'every partition was created with deferred length')
      if (sendsTrailers) {
        assert.equal(patches.length, partitions, counting.requests.map((r) => `${r.method} ${JSON.stringify(r.headers)}`).join('\n'))
        for (const r of patches) {
          assert.equal(r.headers['trailer'], 'upload-length, tessera-sha256')
          assert.equal(r.headers['content-length'], undefined)
          assert.deepEqual(Object.keys(r.trailers ?? {}), ['upload-length', 'tessera-sha256'])
        }
        // Each partition's digest is the digest of exactly its bytes (taken as they were sent).
        const trailed = patches.map((r) => (r.trailers as Record<string, string>)['tessera-sha256']).sort()
        assert.deepEqual(trailed, [...digests.values()].sort())
      } else {
        assert.equal(patches.length, 2 * partitions)
        const declaring = patches.filter((r) => r.headers['content-length'] === '0')
        assert.equal(declaring.length, partitions)
        assert.ok(declaring.every((r) => r.headers['upload-length'] !== undefined && r.headers['tessera-sha256'] !== undefined))
        assert.ok(patches.every((r) => r.trailers === undefined && r.headers['trailer'] === undefined))
      }
    })
  }

  test('a file source is read once: each partition is hashed as its PATCH streams it, its digest in trailers', async () => {
    // 4 × 4 MiB: every partition may be split, so each is created with deferred length. (One under
    // 2 × minPartitionBytes is created with its length and digest, read before its POST.)
    const data = bytes(16 * MiB, 24)
    const inner = bytesSource(data)
    let read = 0
    const source: RandomAccessSource = {
      ...inner,
      async *read(start: number, end: number) {
        for await (const piece of inner.read(start, end)) {
          read += piece.length
          yield piece
        }
      },
    }
    // No hedges: a hedge reads its partition again, by design.
    const u = upload(source, options({ hedging: false, minPartitionBytes: MiB, initialPartitionBytes: 4 * MiB }))
    await check(u, data)
    assert.equal(read, data.length, 'every byte read from the source once')
  })

  test('64 MiB from a path: partitions spread over both endpoints, checksummed, final carries the partition-list digest', async () => {
    const data = bytes(64 * MiB, 3)
    const path = join(tmp.dir, 'big.bin')
    await writeFile(path, data)
    // Splitting off: a partition that may be split is created with deferred length and carries its
    // SHA-256 on the length-declaring PATCH instead of in its metadata (split.test.ts covers that).
    const u = upload(path, { ...options(), splitting: false })
    const partitions: { offset: number; length: number }[] = []
    const endpointsUsed = new Set<string>()
    const urls: string[] = []
    u.on('partition', (e) => partitions.push({ offset: e.offset, length: e.length }))
    u.on('attempt-done', (e) => {
      endpointsUsed.add(e.endpoint)
      urls.push(e.url)
    })
    const result = await check(u, data)
    assert.ok(partitions.length >= 2)
    assert.equal(partitions.reduce((n, p) => n + p.length, 0), data.length)
    assert.equal(endpointsUsed.size, 2)

    // The final carries the partition-list digest (no whole-file SHA-256 by default); each partial
    // its identity and its own SHA-256.
    const head = await fetch(result.url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
    const meta = parseMetadata(head.headers.get('upload-metadata') ?? '')
    assert.equal(meta['filename'], 'f.bin')
    assert.equal(meta[TesseraMetadataKey.sha256], undefined)
    const expected = partitionsDigest(data, partitions)
    assert.equal(Buffer.from(meta[TesseraMetadataKey.partitionsSha256]!, 'base64').toString('hex'), expected)
    assert.equal(result.partitionsSha256, expected)
    assert.equal(result.sha256, undefined)
    const partial = await fetch(urls[0]!, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
    const pm = parseMetadata(partial.headers.get('upload-metadata') ?? '')
    assert.match(pm[TesseraMetadataKey.partition]!, /^[0-9a-f]+\/\d+$/)
    const p = partitions[Number(pm[TesseraMetadataKey.partition]!.split('/')[1])]!
    assert.equal(Number(pm[TesseraMetadataKey.partitionOffset]), p.offset)
    assert.equal(Buffer.from(pm[TesseraMetadataKey.sha256]!, 'base64').toString('hex'), sha256(data.subarray(p.offset, p.offset + p.length)))
  })

  test("integrity: 'sha256' hashes the whole file too: the final carries its SHA-256, the partials say so", async () => {
    const data = bytes(12 * MiB, 9)
    const u = upload(data, options({ integrity: 'sha256' }))
    const urls: string[] = []
    u.on('attempt-done', (e) => urls.push(e.url))
    const result = await check(u, data)
    assert.equal(result.sha256, sha256(data))
    const head = await fetch(result.url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
    const meta = parseMetadata(head.headers.get('upload-metadata') ?? '')
    assert.equal(Buffer.from(meta[TesseraMetadataKey.sha256]!, 'base64').toString('hex'), sha256(data))
    assert.equal(meta[TesseraMetadataKey.partitionsSha256], undefined)
    const partial = await fetch(urls[0]!, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
    assert.equal(parseMetadata(partial.headers.get('upload-metadata') ?? '')[TesseraMetadataKey.integrity], 'sha256')
  })

  test('a small file is shared evenly over the slots of the first round: 16 MiB at 4 in flight is 4 × 4 MiB', async () => {
    const data = bytes(16 * MiB, 5)
    const u = upload(data, options({ initialConcurrency: 4 }))
    const lengths: number[] = []
    u.on('partition', (e) => lengths.push(e.length))
    await check(u, data)
    assert.deepEqual(lengths, [4 * MiB, 4 * MiB, 4 * MiB, 4 * MiB])
  })

  test('64 MiB from a Readable of unknown length', async () => {
    const data = bytes(64 * MiB, 4)
    // Odd-sized chunks, so partitions straddle them.
    const stream = Readable.from((function* () {
      for (let i = 0; i < data.length; i += 1_000_003) yield data.subarray(i, Math.min(data.length, i + 1_000_003))
    })())
    const u = upload(stream, options())
    const totals = new Set<number | undefined>()
    u.on('progress', (e) => totals.add(e.bytesTotal))
    await check(u, data)
    assert.ok(totals.has(undefined)) // unknown until the end
  })

  test('5 MiB from a web ReadableStream with a declared size, urgent priority', async () => {
    const data = bytes(5 * MiB, 5)
    const stream = new Blob([new Uint8Array(data)]).stream()
    const u = upload(stream, options({ size: data.length, priority: 'urgent' }))
    const lengths: number[] = []
    u.on('partition', (e) => lengths.push(e.length))
    await check(u, data)
    assert.ok(lengths.every((l) => l <= 2 * MiB), `urgent partitions are small: ${lengths}`)
  })

  test('pause stops acknowledgements; resume continues and completes identical', async () => {
    const data = bytes(16 * MiB, 6)
    const u = upload(data, options({ chunkBytes: 1 * MiB }))
    const paused = new Promise<void>((resolve) => {
      const onProgress = (): void => {
        u.off('progress', onProgress)
        u.pause()
        resolve()
      }
      u.on('progress', onProgress)
    })
    await paused
    const at = u.bytesAcked
    assert.ok(at < data.length)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(u.bytesAcked, at, 'nothing acknowledged while paused')
    u.resume()
    await check(u, data)
  })
})
