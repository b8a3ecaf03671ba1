import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  decodeBase64,
  encodeBase64,
  formatConcat,
  formatMetadata,
  parseChecksum,
  parseConcat,
  parseMetadata,
  parseNonNegativeInteger,
  partitionListBytes,
} from '../src/index.js'

const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c

test('base64 round-trips every length and matches Buffer', () => {
  for (let n = 0; n < 70; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255)
    const b64 = encodeBase64(bytes)
    assert.equal(b64, Buffer.from(bytes).toString('base64'))
    assert.deepEqual(decodeBase64(b64), bytes)
  }
  assert.equal(decodeBase64('abc'), undefined)
  assert.equal(decodeBase64('ab=c'), undefined)
  assert.equal(decodeBase64('a b='), undefined)
})

test('metadata parses keys with and without values and round-trips UTF-8', () => {
  const header = `filename ${Buffer.from('résumé 📄.pdf').toString('base64')},is_confidential,empty `
  assert.deepEqual({ ...parseMetadata(header) }, { filename: 'résumé 📄.pdf', is_confidential: null, empty: null })
  const meta = { filename: 'a b,c', flag: null, x: 'v' }
  assert.deepEqual({ ...parseMetadata(formatMetadata(meta)) }, meta)
  // HTTP trims trailing spaces, so an empty value travels as a key without value.
  assert.equal(formatMetadata({ x: '' }), 'x')
  assert.deepEqual({ ...parseMetadata('') }, {})
})

test('malformed metadata is rejected with a stable code', () => {
  for (const bad of ['filename !!!', 'a b c', ',', 'key dGVzdA==,key dGVzdA==', 'k /w==', 'ключ dGVzdA==']) {
    assert.throws(() => parseMetadata(bad), code('PROTOCOL_ERR_INVALID_METADATA'), bad)
  }
})

test('integers: plain decimal digits only, within the safe range', () => {
  assert.equal(parseNonNegativeInteger('Upload-Length', '0'), 0)
  assert.equal(parseNonNegativeInteger('Upload-Length', '1048576'), 1048576)
  for (const bad of ['', '-1', '01', '1.5', '1e3', ' 1', '0x10', '9007199254740993']) {
    assert.throws(() => parseNonNegativeInteger('Upload-Length', bad), code('PROTOCOL_ERR_INVALID_INTEGER'), bad)
  }
})

test('checksum header: algorithm and digest length are checked', () => {
  const sha1 = Buffer.alloc(20, 1).toString('base64')
  assert.deepEqual(parseChecksum(`sha1 ${sha1}`), { algorithm: 'sha1', digestBase64: sha1 })
  assert.throws(() => parseChecksum(`crc99 ${sha1}`), code('PROTOCOL_ERR_UNSUPPORTED_CHECKSUM'))
  assert.throws(() => parseChecksum(`sha256 ${sha1}`), code('PROTOCOL_ERR_INVALID_CHECKSUM'))
  assert.throws(() => parseChecksum('sha1'), code('PROTOCOL_ERR_INVALID_CHECKSUM'))
  assert.throws(() => parseChecksum('sha1 !!!!'), code('PROTOCOL_ERR_INVALID_CHECKSUM'))
})

test('concat header: partial and final with urls', () => {
  assert.deepEqual(parseConcat('partial'), { type: 'partial' })
  assert.deepEqual(parseConcat('final;/files/a http://h/files/b'), { type: 'final', uploads: ['/files/a', 'http://h/files/b'] })
  assert.equal(formatConcat({ type: 'final', uploads: ['/a', '/b'] }), 'final;/a /b')
  for (const bad of ['', 'final', 'final;', 'final; ', 'partial;x', 'whole']) {
    assert.throws(() => parseConcat(bad), code('PROTOCOL_ERR_INVALID_CONCAT'), bad)
  }
})

test('partition-list bytes: domain prefix, then offset, length (u64 big-endian) and SHA-256 per partition', () => {
  const d1 = new Uint8Array(32).fill(0xaa)
  const d2 = new Uint8Array(32).fill(0xbb)
  const out = partitionListBytes([
    { offset: 0, length: 5, sha256: d1 },
    { offset: 5, length: 2 ** 40, sha256: d2 },
  ])
  const hex = Buffer.from(out).toString('hex')
  const prefix = Buffer.from('tessera-partitions-v1\n').toString('hex')
  const entry = (offset: string, length: string, d: Uint8Array) => offset + length + Buffer.from(d).toString('hex')
  assert.equal(hex, prefix + entry('0000000000000000', '0000000000000005', d1) + entry('0000000000000005', '0000010000000000', d2))
  // No partitions (an empty file): the prefix alone.
  assert.equal(Buffer.from(partitionListBytes([])).toString('hex'), prefix)
})

test('partition-list bytes refuse gaps, overlaps, bad lengths and digests', () => {
  const d = new Uint8Array(32)
  const cases = [
    [{ offset: 1, length: 1, sha256: d }],
    [{ offset: 0, length: 4, sha256: d }, { offset: 3, length: 1, sha256: d }],
    [{ offset: 0, length: 4, sha256: d }, { offset: 5, length: 1, sha256: d }],
    [{ offset: 0, length: -1, sha256: d }],
    [{ offset: 0, length: 1.5, sha256: d }],
    [{ offset: 0, length: 1, sha256: new Uint8Array(31) }],
  ]
  for (const parts of cases) assert.throws(() => partitionListBytes(parts), code('PROTOCOL_ERR_INVALID_PARTITIONS'), JSON.stringify(parts))
})
