import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createBlockChecksum } from '../src/index.js'

const text = (s: string) => new TextEncoder().encode(s)

test('xxhash64 (seed 0) known vectors, as 16 lower-case hex characters', async () => {
  const checksum = await createBlockChecksum()
  // Reference values of the xxHash specification's XXH64 (also in python-xxhash's docs).
  assert.equal(checksum(new Uint8Array(0)), 'ef46db3751d8e999')
  assert.equal(checksum(text('a')), 'd24ec4f1a98c6e5b')
  assert.equal(checksum(text('abc')), '44bc2cf5ad770999')
  // 39 bytes: exercises the 32-byte stripe loop and the tail.
  assert.equal(checksum(text('Nobody inspects the spammish repetition')), 'fbcea83c8a378bf1')
})

test('the hasher is reusable and independent per call', async () => {
  const a = await createBlockChecksum()
  const b = await createBlockChecksum()
  const block = new Uint8Array(1 << 16).map((_, i) => (i * 31) & 255)
  const first = a(block)
  assert.match(first, /^[0-9a-f]{16}$/)
  assert.equal(a(text('abc')), '44bc2cf5ad770999')
  assert.equal(a(block), first)
  assert.equal(b(block), first)
  block[12345]! ^= 1
  assert.notEqual(a(block), first)
})
