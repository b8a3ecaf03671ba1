// The problems an invalid configuration lists, for the loadConfig tests.
import assert from 'node:assert/strict'
import { GatewayError } from '../../src/errors.js'

/** The problems of an invalid configuration, one per line of the error (`fn` must throw it). */
export function problems(fn: () => unknown): string[] {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof GatewayError)
    assert.equal(err.code, 'GATEWAY_ERR_INVALID_CONFIG')
    return err.message.split('\n').filter((l) => l.trim().startsWith('- '))
  }
  assert.fail('expected GATEWAY_ERR_INVALID_CONFIG')
}
