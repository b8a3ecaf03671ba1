import type { Backend } from '../backend.js'
import { raceAbort, throwIfAborted } from '../abort.js'
import { StorageError, isStorageError } from '../errors.js'
import type { BlockRef } from './manifest.js'

/**
 * Stores one block with a deadline. A backend that stalls past `timeoutMs` rejects
 * `STORAGE_ERR_TIMEOUT` even if the backend itself ignores the signal.
 */
export async function putBlock(backend: Backend, key: string, bytes: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await withDeadline(timeoutMs, signal, (s) => backend.put(key, bytes, { signal: s }))
}

/**
 * Reads one block with a deadline (see {@link putBlock}): the whole block, or `length` bytes at
 * its offset in a segment. A segment block on a backend without `readRange` is unavailable.
 */
export function readBlock(backend: Backend, ref: BlockRef, length: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
  if (ref.offset === undefined) return withDeadline(timeoutMs, signal, (s) => backend.read(ref.key, { signal: s }))
  const offset = ref.offset
  if (!backend.readRange) return Promise.reject(new StorageError('STORAGE_ERR_UNAVAILABLE', `backend ${backend.id} cannot read ranges of segment ${ref.key}`))
  return withDeadline(timeoutMs, signal, (s) => backend.readRange!(ref.key, offset, length, { signal: s }))
}

/** Runs `op` with a deadline: rejects `STORAGE_ERR_TIMEOUT` after `timeoutMs` even if `op` ignores its signal. */
export async function withDeadline<T>(timeoutMs: number, parent: AbortSignal | undefined, op: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const what = 'block operation'
  throwIfAborted(parent, what)
  const controller = new AbortController()
  const signal = parent ? AbortSignal.any([parent, controller.signal]) : controller.signal
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new StorageError('STORAGE_ERR_TIMEOUT', `${what} exceeded ${timeoutMs} ms`))
    }, timeoutMs)
  })
  const work = op(signal)
  try {
    return await raceAbort(Promise.race([work, expired]), parent, what)
  } catch (err) {
    work.catch(() => undefined)
    if (isStorageError(err)) throw err
    throw new StorageError('STORAGE_ERR_IO', `${what} failed: ${(err as Error).message}`, { cause: err })
  } finally {
    clearTimeout(timer)
  }
}
