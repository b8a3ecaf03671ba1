// The browser's File/Blob source, run on Node's own Blob and WebCrypto (Node has no Web Workers, so
// this is the calling-thread digest; the worker one is tested in Chromium, browser.test.ts): a
// partition is digested by WebCrypto (the engine's incremental hash never sees its bytes) up to
// WEBCRYPTO_DIGEST_MAX_BYTES, by the engine above it or when a whole-file hash needs the bytes;
// bodies are the Blob's slices.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { WEBCRYPTO_DIGEST_MAX_BYTES, blobSource } from '../src/browser/blob-sources.js'
import { cutPartition } from '../src/partition.js'
import type { Hash } from '../src/ports.js'
import { bytes } from './helpers.js'

const MiB = 1024 * 1024
/** A Blob of `data` (copied: Blob parts must be plain ArrayBuffer views). */
const blobOf = (data: Uint8Array): Blob => new Blob([new Uint8Array(data)])
const b64 = (data: Uint8Array): string => createHash('sha256').update(data).digest('base64')
/** A node:crypto SHA-256 that counts the bytes it is given. */
function countingHash(): Hash & { bytes: number } {
  const h = createHash('sha256')
  return { bytes: 0, update(piece) { this.bytes += piece.length; h.update(piece) }, digest: () => new Uint8Array(h.digest()) }
}
const how = (hash: Hash, whole?: Hash) => ({ hash, whole, declaredSize: undefined, resumed: false, index: 0 })

test('a partition of a Blob is digested by WebCrypto: right digest, no byte through the engine hash', async () => {
  const data = bytes(3 * MiB + 5, 71)
  const hash = countingHash()
  const cut = await cutPartition(blobSource(blobOf(data)), MiB + 3, 2 * MiB, how(hash))
  assert.equal(cut.sha256, b64(data.subarray(MiB + 3, 3 * MiB + 3)))
  assert.equal(cut.length, 2 * MiB)
  assert.equal(hash.bytes, 0)
})

test('past WEBCRYPTO_DIGEST_MAX_BYTES, or with a whole-file hash, the engine hashes the bytes itself', async () => {
  const data = bytes(WEBCRYPTO_DIGEST_MAX_BYTES + MiB, 72)
  const source = blobSource(blobOf(data))
  assert.equal(source.digest?.(0, WEBCRYPTO_DIGEST_MAX_BYTES + 1), undefined)
  const big = countingHash()
  const cut = await cutPartition(source, 0, data.length, how(big))
  assert.equal(cut.sha256, b64(data))
  assert.equal(big.bytes, data.length)

  const hash = countingHash()
  const whole = countingHash()
  const small = await cutPartition(source, 0, MiB, how(hash, whole))
  assert.equal(small.sha256, b64(data.subarray(0, MiB)))
  assert.deepEqual([hash.bytes, whole.bytes], [MiB, MiB])
})

test('a Blob that is shorter than the partition is a short source, not a wrong digest', async () => {
  const source = blobSource(blobOf(bytes(MiB, 73)))
  await assert.rejects(() => cutPartition(source, 0, 2 * MiB, how(countingHash())), { code: 'CLIENT_ERR_SOURCE_SHORT' })
})

test('a body is sent as the Blob’s own slice', async () => {
  const data = bytes(2 * MiB, 74)
  const slice = blobSource(blobOf(data)).blob!(MiB - 1, MiB + 9)
  assert.deepEqual(new Uint8Array(await slice.arrayBuffer()), new Uint8Array(data.subarray(MiB - 1, MiB + 9)))
})
