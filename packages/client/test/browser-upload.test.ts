// The browser entry's upload() options beyond the portable ones, checked in Node (no I/O happens
// before the check): `digestInWorkers` must be a boolean.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { upload } from '../src/browser/browser-upload.js'

test('digestInWorkers that is not a boolean fails at construction with CLIENT_ERR_INVALID_OPTION, naming the option', () => {
  const options = { endpoints: ['http://127.0.0.1:9/files'], stateStore: null, digestInWorkers: 'yes' as unknown as boolean }
  assert.throws(() => upload(new Blob([new Uint8Array(8)]), options), { code: 'CLIENT_ERR_INVALID_OPTION', message: /`digestInWorkers`/ })
})
