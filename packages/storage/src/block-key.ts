import { BLOCK_KEY_PATTERN, type BlockBody } from './backend.js'
import { StorageError } from './errors.js'
import { invalidOption } from './invalid-option.js'

// One segment of a key: what may appear between two `/`, or as a complete directory name.
const SEGMENT_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/
const PREFIX_ALPHABET = /^[A-Za-z0-9._/-]*$/

/**
 * Throws unless `key` matches {@link BLOCK_KEY_PATTERN}: segments of `[A-Za-z0-9._-]` joined by
 * `/`, none empty, `.` or `..`. Backends call it first, so a key with a path trick (`../x`,
 * `/abs`, `a//b`, `a\b`, NUL) never reaches a file system or URL.
 *
 * @throws StorageError `STORAGE_ERR_INVALID_KEY` naming the key (JSON-quoted, so control
 *   characters stay visible).
 */
export function assertBlockKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !BLOCK_KEY_PATTERN.test(key)) {
    throw new StorageError('STORAGE_ERR_INVALID_KEY', `Invalid block key ${quote(key)}: expected segments of [A-Za-z0-9._-] joined by "/", none empty, "." or ".."`)
  }
}

/**
 * The arguments of `Backend.put`, checked before any I/O: a valid key and a body that is bytes or
 * an async iterable of them.
 * @throws StorageError `STORAGE_ERR_INVALID_KEY`, `STORAGE_ERR_INVALID_ARGUMENT` (the body).
 */
export function assertPutArguments(key: unknown, body: unknown): asserts body is BlockBody {
  assertBlockKey(key)
  if (!(body instanceof Uint8Array) && typeof (body as Partial<AsyncIterable<unknown>>)?.[Symbol.asyncIterator] !== 'function') {
    throw invalidOption('body', 'a Uint8Array or an async iterable of Uint8Array', body)
  }
}

/**
 * Throws unless `prefix` can start a valid key: empty, or characters of the key alphabet where
 * every complete segment (each one followed by `/`) is a valid segment. The last, partial
 * segment may be anything in the alphabet (`u1/0-` matches `u1/0-3`). For `list(prefix)`.
 *
 * @throws StorageError `STORAGE_ERR_INVALID_KEY` naming the prefix.
 */
export function assertBlockKeyPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix === 'string' && PREFIX_ALPHABET.test(prefix)) {
    const complete = prefix.split('/').slice(0, -1)
    if (complete.every((segment) => SEGMENT_PATTERN.test(segment))) return
  }
  throw new StorageError('STORAGE_ERR_INVALID_KEY', `Invalid block key prefix ${quote(prefix)}: expected the start of a key (segments of [A-Za-z0-9._-] joined by "/")`)
}

/** True when `name` can be one segment of a block key (a file or directory name we own). */
export function isBlockKeySegment(name: string): boolean {
  return SEGMENT_PATTERN.test(name)
}

function quote(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `${String(value)} (${typeof value})`
}
