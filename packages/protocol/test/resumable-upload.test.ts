import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatUploadLimit, parseInteropVersion, parseStructuredBoolean, parseStructuredInteger } from '../src/index.js'

test('interop versions 6 to 8 are understood; others are refused with a stable code; none means not a draft request', () => {
  assert.equal(parseInteropVersion(undefined), undefined)
  assert.deepEqual(['6', ' 7', '8'].map(parseInteropVersion), [6, 7, 8])
  for (const bad of ['5', '9', 'x', '', '6.0']) assert.throws(() => parseInteropVersion(bad), { code: 'PROTOCOL_ERR_UNSUPPORTED_INTEROP_VERSION' })
})

test('Upload-Complete is a structured boolean; parameters are ignored', () => {
  assert.equal(parseStructuredBoolean('Upload-Complete', '?1'), true)
  assert.equal(parseStructuredBoolean('Upload-Complete', '?0;a=1'), false)
  assert.equal(parseStructuredBoolean('Upload-Complete', undefined), undefined)
  for (const bad of ['1', 'true', '?2', '??1', '']) assert.throws(() => parseStructuredBoolean('Upload-Complete', bad), { code: 'PROTOCOL_ERR_INVALID_FIELD' })
})

test('Upload-Offset and Upload-Length are structured integers of at most 15 digits', () => {
  assert.equal(parseStructuredInteger('Upload-Offset', '0'), 0)
  assert.equal(parseStructuredInteger('Upload-Offset', '999999999999999'), 999999999999999)
  assert.equal(parseStructuredInteger('Upload-Length', '12;x'), 12)
  for (const bad of ['-1', '01', '1.5', '1000000000000000', 'a', '']) assert.throws(() => parseStructuredInteger('Upload-Offset', bad), { code: 'PROTOCOL_ERR_INVALID_FIELD' })
})

test('Upload-Limit is a dictionary of integers, absent members left out', () => {
  assert.equal(formatUploadLimit({ 'max-size': 1024, 'max-age': 3599.7, 'min-size': undefined }), 'max-size=1024, max-age=3599')
  assert.equal(formatUploadLimit({}), '')
})
