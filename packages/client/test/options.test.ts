import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ClientError, defaultUploadOptions, resolveUploadOptions } from '../src/core.js'

function rejects(options: object, message: string): void {
  assert.throws(
    () => resolveUploadOptions({ endpoints: ['http://127.0.0.1:1/files'], ...options }),
    (err: unknown) => err instanceof ClientError && err.code === 'CLIENT_ERR_INVALID_OPTION' && err.message === message,
  )
}

describe('resolveUploadOptions', () => {
  test('applies defaults without mutating the input', () => {
    const input = Object.freeze({ endpoints: Object.freeze(['http://a.example/files/']) })
    const o = resolveUploadOptions(input)
    assert.deepEqual(o.endpoints, ['http://a.example/files'])
    assert.equal(o.stallTimeoutMs, defaultUploadOptions.stallTimeoutMs)
    assert.equal(o.chunkBytes, 8 * 1024 * 1024)
    assert.ok(Object.isFrozen(defaultUploadOptions))
  })

  test('names the option, the expected and the actual value', () => {
    rejects({ stallTimeoutMs: 0 }, 'Expected `stallTimeoutMs` to be a number from 1 and up, got `0` (number)')
    rejects({ chunkBytes: '8' }, 'Expected `chunkBytes` to be a number from 1 and up, got `8` (string)')
    rejects({ maxPartitionBytes: 10, minPartitionBytes: 100 }, 'Expected `maxPartitionBytes` to be a number from 100 and up, got `10` (number)')
    rejects({ priority: 'high' }, "Expected `priority` to be one of 'urgent', 'normal', 'bulk', got `high` (string)")
    rejects({ initialConcurrency: 9 }, 'Expected `initialConcurrency` to be a number from 1 to 8 (maxConcurrency), got `9` (number)')
    rejects({ retryDelaysMs: [1, -1] }, 'Expected `retryDelaysMs` to be an array of numbers from 0 and up, got `[1,-1]` (array)')
    rejects({ metadata: { a: 1 } }, 'Expected `metadata` to be an object of string values, got (object)')
    assert.throws(() => resolveUploadOptions({ endpoints: [] }), /Expected `endpoints` to be a non-empty array of http\(s\) URLs/)
    assert.throws(() => resolveUploadOptions({ endpoints: ['ftp://x/files'] }), /Expected `endpoints\[0\]` to be an absolute http\(s\) URL, got `ftp:\/\/x\/files` \(string\)/)
  })
})
