// How bytes are verified end to end against the real gateway (child process): a gateway that says
// `Tessera-Reconciliation: sha256` checks each attempt against its partition digest, so the client
// streams each partition in one PATCH with no per-PATCH checksum; one that does not gets buffered,
// checksummed PATCHes; bytes corrupted in transit are caught by the partition digest and re-sent.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { TESSERA_RECONCILIATION_HEADER } from '@tessera/protocol'
import { upload, type HttpTransport, type UploadOptions } from '../src/index.js'
import { bytes, download, sha256, startGateway, type Gateway } from './helpers.js'
import { recordEvents } from './helpers/events.js'
import { countingTransport } from './helpers/fault-proxy.js'

const MiB = 1024 * 1024

describe('partition digests against the gateway', () => {
  let gw: Gateway
  before(async () => {
    gw = await startGateway()
  })
  after(() => gw.stop())

  const options = (transport: HttpTransport, extra: Partial<UploadOptions> = {}): UploadOptions => ({
    endpoints: [gw.url],
    stateStore: null,
    transport,
    initialPartitionBytes: 2 * MiB,
    minPartitionBytes: 2 * MiB,
    maxPartitionBytes: 2 * MiB,
    chunkBytes: 512 * 1024,
    hedging: false,
    ...extra,
  })

  /** Uploads and checks the download; `wholeFile`: the server cannot check partition lists, so the client hashed the whole file. */
  async function uploadChecked(data: Buffer, opts: UploadOptions, wholeFile = false) {
    const u = upload(data, opts)
    const ev = recordEvents(u)
    const result = await u.done
    if (wholeFile) assert.equal(result.sha256, sha256(data))
    else assert.equal(result.sha256, undefined, 'parallel mode hashes no whole file: the final carries the partition list')
    assert.deepEqual(await download(result.url), { sha256: sha256(data), size: data.length })
    return ev
  }

  test('a gateway that verifies partition digests gets one streamed PATCH per partition, with no Upload-Checksum', async () => {
    const { transport, requests } = countingTransport()
    const data = bytes(8 * MiB + 12345, 41)
    const ev = await uploadChecked(data, options(transport))
    const patches = requests.filter((r) => r.method === 'PATCH')
    assert.ok(ev.partition.length >= 4)
    for (const p of patches) {
      assert.equal(p.headers['upload-checksum'], undefined)
      assert.ok(!(p.body instanceof Uint8Array), 'the body is streamed, not a buffer')
    }
    // One PATCH per partition, each the whole partition, though chunkBytes is 512 KiB.
    const lengths = (xs: number[]) => xs.sort((a, b) => a - b)
    assert.deepEqual(lengths(patches.map((p) => Number(p.headers['content-length']))), lengths(ev.partition.map((p) => p.length)))
  })

  test('a transport that cannot stream a body (fetch in a browser) gets PATCHes of at most chunkBytes, still without Upload-Checksum', async () => {
    const { transport, requests } = countingTransport({ streamsBodies: false })
    const data = bytes(3 * MiB, 44)
    await uploadChecked(data, options(transport))
    const patches = requests.filter((r) => r.method === 'PATCH')
    assert.equal(patches.length, 6)
    for (const p of patches) {
      assert.equal(p.headers['upload-checksum'], undefined)
      assert.ok(Number(p.headers['content-length']) <= 512 * 1024)
    }
  })

  test('a server that does not say Tessera-Reconciliation gets checksummed PATCHes of at most chunkBytes', async () => {
    const { transport, requests } = countingTransport({
      response: (req, res) => {
        if (req.method !== 'OPTIONS') return res
        const { [TESSERA_RECONCILIATION_HEADER]: _, ...headers } = res.headers
        return { ...res, headers }
      },
    })
    const data = bytes(3 * MiB, 42)
    await uploadChecked(data, options(transport), true)
    const patches = requests.filter((r) => r.method === 'PATCH')
    assert.equal(patches.length, 6)
    for (const p of patches) {
      assert.match(p.headers['upload-checksum'] ?? '', /^sha256 [A-Za-z0-9+/]{43}=$/)
      assert.ok(Number(p.headers['content-length']) <= 512 * 1024)
    }
  })

  test('a byte flipped in transit is caught by the partition digest: the attempt answers 460, the partition is sent again', async () => {
    let flipped = false
    const { transport, requests } = countingTransport({
      request: (req) => {
        if (req.method !== 'PATCH' || flipped || req.body === undefined || req.body instanceof Uint8Array) return req
        flipped = true
        const body = req.body
        async function* corrupted(): AsyncGenerator<Uint8Array> {
          let first = true
          for await (const piece of body) {
            if (first && piece.length > 0) {
              const copy = Uint8Array.from(piece)
              copy[copy.length >> 1]! ^= 0x20
              first = false
              yield copy
            } else {
              yield piece
            }
          }
        }
        return { ...req, body: corrupted() }
      },
    })
    const data = bytes(6 * MiB, 43)
    const ev = await uploadChecked(data, options(transport))
    assert.ok(flipped)
    const mismatch = ev['attempt-failed'].filter((e) => e.code === 'CLIENT_ERR_CHECKSUM_MISMATCH' && e.status === 460)
    assert.equal(mismatch.length, 1, JSON.stringify(ev['attempt-failed']))
    assert.ok(mismatch[0]!.willRetry)
    // The rejected attempt is gone; its partition was created again and sent whole.
    assert.equal(requests.filter((r) => r.method === 'POST').length, 3 + 1 + 1)
  })
})
